"""``streammesh publish``: JSON lines to a product topic, each record checked by its contract."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from streammesh.cli.common import console, err_console, open_mesh
from streammesh.cli.output import ExitCode, OutputFormat, OutputOption, emit_json, fail
from streammesh.deadletter import PayloadFormat
from streammesh.sdk import (
    ContractViolation,
    JsonConverter,
    ProductProducer,
    RecordConversionError,
    Refusal,
)
from streammesh.sdk.errors import SdkError
from streammesh.sdk.producer import OnInvalid


@dataclass(frozen=True)
class Line:
    """One input line: the record ready to publish, or why it cannot be."""

    number: int
    text: str
    record: dict[str, Any] | None = None
    key: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None


def read_lines(
    lines: Iterable[str],
    value: JsonConverter,
    *,
    key: JsonConverter | None = None,
    key_field: str | None = None,
    envelope: bool = False,
) -> Iterator[Line]:
    """Convert JSON lines to records by the Avro schema; blank lines are skipped.

    A line is the record itself, or with `envelope` an object `{"key", "value", "headers"}`.
    With `key_field` the key is that field of the record.
    """
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            yield Line(number, text, error=f"not JSON: {exc.msg} (column {exc.colno})")
            continue
        raw_key: Any = None
        headers: dict[str, str] = {}
        if envelope:
            if not isinstance(data, dict) or "value" not in data:
                yield Line(number, text, error='an envelope line is {"key": ..., "value": {...}}')
                continue
            raw_key, headers, data = data.get("key"), data.get("headers") or {}, data["value"]
        if key_field is not None:
            if not isinstance(data, dict) or key_field not in data:
                yield Line(number, text, error=f"the record has no {key_field!r} field for the key")
                continue
            raw_key = data[key_field]
        try:
            record = value.from_json(data)
            converted_key = (
                key.from_json(raw_key) if key is not None and raw_key is not None else raw_key
            )
        except RecordConversionError as exc:
            yield Line(number, text, error=str(exc))
            continue
        if not isinstance(record, dict):
            yield Line(number, text, error="a product record is a JSON object")
            continue
        yield Line(number, text, record, converted_key, {k: str(v) for k, v in headers.items()})


@dataclass
class Summary:
    product: str
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    dead_lettered: int = 0
    refused: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "product": self.product,
            "sent": self.sent,
            "delivered": self.delivered,
            "failed": self.failed,
            "dead_lettered": self.dead_lettered,
            "refused": self.refused,
        }


def _schema(text: str | None) -> Any:
    return json.loads(text) if text else None


def publish(
    product: Annotated[
        str, typer.Argument(help="<domain>.<product> (with --major) or <domain>.<product>.vN.")
    ],
    file: Annotated[
        str, typer.Option("--file", "-f", help="A .jsonl file of records, or - for stdin.")
    ] = "-",
    major: Annotated[int | None, typer.Option(min=1, help="Major (default: latest).")] = None,
    key_field: Annotated[
        str | None, typer.Option(help="Use this field of each record as its key.")
    ] = None,
    envelope: Annotated[
        bool, typer.Option(help='Lines are {"key": ..., "value": {...}, "headers": {...}}.')
    ] = False,
    dlq: Annotated[
        bool, typer.Option("--dlq", help="Send refused lines to <topic>.dlq with their reasons.")
    ] = False,
    output: OutputFormat = OutputOption,
) -> None:
    """Publish JSON lines as records of a product, each validated by its contract first.

    Decimals may be strings or numbers, timestamps ISO-8601 strings or epoch milliseconds.
    Refused lines are reported with their reasons; exit code 1 if any line was refused.
    With --dlq every refused line goes to the product's dead-letter topic as well (the
    record, or the line as read when it is not a record), and the exit code is 0 unless a
    send failed: nothing was lost.
    """
    stream: TextIO
    if file == "-":
        stream, total = sys.stdin, None
    else:
        path = Path(file)
        if not path.is_file():
            fail(f"--file {file}: no such file", ExitCode.USAGE)
        with path.open(encoding="utf-8") as counting:
            total = sum(1 for line in counting if line.strip())
        stream = path.open(encoding="utf-8")
    try:
        on_invalid: OnInvalid = "dlq" if dlq else "raise"
        with open_mesh() as mesh, mesh.producer(product, major, on_invalid=on_invalid) as producer:
            summary = Summary(producer.product.ref)
            value = JsonConverter(_schema(producer.value_schema.schema.schema_str))
            key = None
            if producer.product.key_subject is not None:
                registered = mesh.registry.get_latest_version(producer.product.key_subject)
                key = JsonConverter(_schema(registered.schema.schema_str))
            lines = read_lines(stream, value, key=key, key_field=key_field, envelope=envelope)
            columns = (TextColumn("publishing"), BarColumn(), MofNCompleteColumn())
            with Progress(*columns, console=err_console, transient=True) as bar:
                task = bar.add_task("publishing", total=total)
                for line in lines:
                    bar.advance(task)
                    _publish_line(producer, line, summary, dlq=dlq)
            producer.flush()
            summary.delivered, summary.failed = producer.delivered, producer.failed
            summary.dead_lettered = producer.dead_lettered
    finally:
        if stream is not sys.stdin:
            stream.close()
    _report(summary, output)
    if summary.failed or (summary.refused and not dlq):
        raise typer.Exit(ExitCode.ERROR)


def _publish_line(producer: ProductProducer, line: Line, summary: Summary, *, dlq: bool) -> None:
    """Publish one line, or record why not. A record the contract refuses is dead-lettered by
    the producer itself (with `dlq`); input that never became a record goes to the dead-letter
    topic as it was read, so what the sender fixes and sends again is exactly what failed."""
    if line.record is None:
        refusal, fmt = Refusal((), (line.error or "not a record",)), PayloadFormat.TEXT
    else:
        try:
            published = producer.publish(line.record, key=line.key, headers=line.headers or None)
        except ContractViolation as exc:  # refused, and not dead-lettered: no --dlq
            _refused(summary, line, Refusal(exc.rules, exc.reasons))
            return
        except SdkError as exc:  # a key that does not fit the key schema
            refusal, fmt = Refusal((), (str(exc),)), PayloadFormat.JSON
        else:
            if published.refusal is None:
                summary.sent += 1
            else:
                _refused(summary, line, published.refusal)
            return
    _refused(summary, line, refusal)
    if dlq:
        payload = line.text.rstrip("\r\n").encode()
        producer.dead_letter(payload, refusal, fmt=fmt, headers=line.headers or None)


def _refused(summary: Summary, line: Line, refusal: Refusal) -> None:
    summary.refused.append(
        {"line": line.number, "reasons": list(refusal.reasons), "rules": list(refusal.rules)}
    )


def _report(summary: Summary, output: OutputFormat) -> None:
    if output is OutputFormat.json:
        emit_json(summary.as_json())
        return
    for refusal in summary.refused:
        for reason in refusal["reasons"]:
            console.print(f"[red]line {refusal['line']}[/]: {escape(str(reason))}")
    failed = f", {summary.failed} failed delivery" if summary.failed else ""
    dead = f" ({summary.dead_lettered} to the dead-letter topic)" if summary.dead_lettered else ""
    console.print(
        f"{summary.product}: {summary.sent} sent, {summary.delivered} delivered, "
        f"{len(summary.refused)} refused{dead}{failed}"
    )
