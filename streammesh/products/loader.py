"""Reading descriptor YAML and Avro files from a checkout, with errors that carry file and line."""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from streammesh.products.descriptor import Descriptor
from streammesh.products.errors import AvroSchemaError, DescriptorError

#: Reads a schema file named as in a descriptor (relative to the repository root) and returns
#: its text; raises `AvroSchemaError` when there is no such file.
SchemaLoader = Callable[[str], str]


def parse_descriptor(text: str, *, source: Path | str = "<descriptor>") -> Descriptor:
    """Parse descriptor YAML; raises `DescriptorError` pointing at the first bad line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise DescriptorError(f"invalid YAML: {exc}", source=source, line=line) from exc
    if not isinstance(data, dict):
        raise DescriptorError("a descriptor is a YAML mapping", source=source, line=1)
    try:
        return Descriptor.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        location = ".".join(str(part) for part in error["loc"])
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise DescriptorError(
            f"{location or 'descriptor'}: {error['msg']}{more}",
            source=source,
            line=_line_of(root, error["loc"]),
        ) from exc


def load_descriptor(path: Path) -> Descriptor:
    """Read and parse the descriptor at `path`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DescriptorError(f"cannot read descriptor: {exc.strerror}", source=path) from exc
    return parse_descriptor(text, source=path)


def iter_descriptor_files(root: Path) -> Iterator[Path]:
    """Every `domains/<domain>/products/<product>.yaml` under repository `root`, sorted."""
    yield from sorted((root / "domains").glob("*/products/*.yaml"))


def file_schema_loader(root: Path) -> SchemaLoader:
    """A `SchemaLoader` reading schema files relative to repository `root`."""

    def load(relative: str) -> str:
        path = root / relative
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise AvroSchemaError(f"{relative}: cannot read schema file: {exc.strerror}") from exc

    return load


def _line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """The 1-based line of the deepest YAML node on the path `loc` (a pydantic error location)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        child = _child(node, part)
        if child is None:
            break
        node = child
        line = child.start_mark.line + 1
    return line


def _child(node: yaml.Node | None, part: int | str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == part:
                # Point at the key: that is where a missing or wrong entry is written.
                return value if isinstance(value, yaml.MappingNode | yaml.SequenceNode) else key
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        child: Any = node.value[part]
        return child if isinstance(child, yaml.Node) else None
    return None
