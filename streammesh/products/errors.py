"""Errors of the products package: descriptors, Avro contracts and their compilation."""

from pathlib import Path

from streammesh.errors import StreamMeshError


class ProductError(StreamMeshError):
    """Base of every error about a data product's descriptor or contract."""


class DescriptorError(ProductError, ValueError):
    """A descriptor file cannot be read or does not match the descriptor model.

    `source` and `line` (1-based) point at the offending spot when they are known, so an editor
    or a CI log can jump straight to it.
    """

    def __init__(self, message: str, *, source: Path | str | None = None, line: int | None = None):
        where = ""
        if source is not None:
            where = f"{source}:{line}: " if line is not None else f"{source}: "
        super().__init__(where + message)
        self.source = source
        self.line = line
        self.reason = message


class AvroSchemaError(ProductError, ValueError):
    """An Avro schema file is missing, not JSON, or not a valid Avro record schema."""


class ContractError(ProductError, ValueError):
    """A descriptor cannot be compiled into a schema-registry contract (rules, tags, metadata)."""
