"""Errors of the SDK: contract refusals, catalog answers, unsafe topic changes."""

from __future__ import annotations

from collections.abc import Sequence

from streammesh.errors import StreamMeshError


class SdkError(StreamMeshError):
    """Base of every error the SDK raises on purpose."""


class ContractViolation(SdkError):  # noqa: N818 - a refusal, named as users say it
    """A record was refused before it was sent: it does not match the product's contract.

    `reasons` lists what is wrong, one line per broken rule (`rule: message`) or Avro mismatch;
    `rules` names the broken quality rules (empty when the record's shape is wrong).
    """

    def __init__(self, product: str, reasons: Sequence[str], rules: Sequence[str] = ()) -> None:
        super().__init__(f"record refused by the contract of {product}: {'; '.join(reasons)}")
        self.product = product
        self.reasons = tuple(reasons)
        self.rules = tuple(rules)


class CatalogError(SdkError):
    """The registry or catalog answered with an error (`error_code` as Confluent's)."""

    def __init__(self, message: str, *, status: int = 0, error_code: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code


class ProductNotFoundError(CatalogError):
    """The catalog has no such product (error code 40470)."""


class RegistryUnavailableError(CatalogError):
    """The registry could not be reached at all."""


class TopicChangeRefused(SdkError):  # noqa: N818 - a refusal, named as users say it
    """Applying a descriptor would need a change Kafka cannot make safely (shrink partitions,
    switch cleanup policy between delete and compact); nothing was changed."""

    def __init__(self, topic: str, reasons: Sequence[str]) -> None:
        super().__init__(f"topic {topic}: {'; '.join(reasons)}")
        self.topic = topic
        self.reasons = tuple(reasons)


class ProductRefError(SdkError, ValueError):
    """A product was named in a form the SDK does not understand."""


class TopicsNotReadyError(SdkError):
    """Topics were created (or found) but have no leader, or do not show a change, in time."""
