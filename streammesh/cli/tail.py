"""``streammesh tail``: a product's records, decoded, as a table or JSON lines."""

from __future__ import annotations

import enum
import json
import sys
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.markup import escape

from streammesh.cli.common import console, open_mesh
from streammesh.cli.output import ExitCode, fail
from streammesh.sdk import Record, to_json


class TailFormat(enum.StrEnum):
    table = "table"
    json = "json"


def parse_time(text: str) -> datetime:
    """`--from-time`: ISO-8601 (UTC when no offset is given) or epoch milliseconds."""
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def record_json(record: Record) -> dict[str, Any]:
    """A record as JSON-safe data: decimals as strings, timestamps ISO-8601, headers as text."""
    return {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "timestamp": record.timestamp.isoformat() if record.timestamp else None,
        "key": to_json(record.key),
        "headers": {name: value.decode("utf-8", "replace") for name, value in record.headers},
        "value": to_json(record.value),
    }


def tail(
    product: Annotated[
        str, typer.Argument(help="<domain>.<product> (with --major) or <domain>.<product>.vN.")
    ],
    major: Annotated[int | None, typer.Option(min=1, help="Major (default: latest).")] = None,
    from_beginning: Annotated[
        bool, typer.Option("--from-beginning", help="Start at the oldest record.")
    ] = False,
    from_time: Annotated[
        str | None,
        typer.Option("--from-time", help="Start at this time: ISO-8601 or epoch milliseconds."),
    ] = None,
    max_records: Annotated[
        int | None, typer.Option("--max", min=1, help="Stop after this many records.")
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", help="Keep waiting for new records (Ctrl-C stops).")
    ] = False,
    output: Annotated[
        TailFormat, typer.Option("--output", "-o", help="table or json (one object a line).")
    ] = TailFormat.table,
) -> None:
    """Print a product's records, decoded by its schema.

    Starts at the end unless --from-beginning or --from-time is given; without --follow it
    stops once every partition has been read to its end.
    """
    if from_beginning and from_time is not None:
        fail("--from-beginning and --from-time exclude each other", ExitCode.USAGE)
    start = None
    if from_time is not None:
        try:
            start = parse_time(from_time)
        except ValueError:
            fail(f"--from-time {from_time!r} is not ISO-8601 or epoch milliseconds", ExitCode.USAGE)
    count = 0
    with (
        open_mesh() as mesh,
        mesh.consumer(product, major, from_beginning=from_beginning, from_time=start) as consumer,
    ):
        try:
            for record in consumer.records(max_records=max_records, until_end=not follow):
                count += 1
                _print(record, output)
        except KeyboardInterrupt:
            pass
    if output is TailFormat.table:
        console.print(f"[dim]{count} records from {consumer.product.ref}[/]")


def _print(record: Record, output: TailFormat) -> None:
    data = record_json(record)
    if output is TailFormat.json:
        sys.stdout.write(json.dumps(data) + "\n")
        sys.stdout.flush()
        return
    value = json.dumps(data["value"], separators=(",", ":"))
    console.print(
        f"[cyan]p{record.partition}@{record.offset}[/] [dim]{data['timestamp']}[/] "
        f"key={escape(json.dumps(data['key']))} {escape(value)}"
    )
