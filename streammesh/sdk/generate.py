"""What a seeded generator of a product shares with every other: its options, its pace, and a
producer of the product made with the SDK from those options."""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from streammesh.products.loader import load_descriptor
from streammesh.sdk.mesh import Mesh
from streammesh.sdk.producer import OnInvalid, ProductProducer
from streammesh.settings import MeshSettings

T = TypeVar("T")


def generator_parser(description: str) -> argparse.ArgumentParser:
    """The options every generator shares; each adds its own."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rate", type=float, default=None, help="records per second")
    parser.add_argument(
        "--bootstrap-servers", default=None, help="default: STREAMMESH_BOOTSTRAP_SERVERS"
    )
    parser.add_argument("--registry-url", default=None, help="default: STREAMMESH_REGISTRY_URL")
    parser.add_argument("--topic", default=None, help="default: the product's topic")
    parser.add_argument(
        "--live", action="store_true", help="stamp each record's event time with the wall clock"
    )
    parser.add_argument("--apply", action="store_true", help="create and register the product")
    return parser


@contextmanager
def producer_from_args(
    args: argparse.Namespace, descriptor: Path, *, on_invalid: OnInvalid = "raise"
) -> Iterator[ProductProducer]:
    """A producer of the product described at `descriptor`, as `generator_parser`'s options
    say (applied first with `--apply`); flushed and closed when the block ends."""
    given = {"bootstrap_servers": args.bootstrap_servers, "registry_url": args.registry_url}
    settings = MeshSettings(**{k: v for k, v in given.items() if v is not None})
    with Mesh(settings) as mesh:
        if args.apply:
            mesh.apply_product(descriptor)
        ref = load_descriptor(descriptor).ref
        with mesh.producer(ref, on_invalid=on_invalid, topic=args.topic) as producer:
            yield producer


def stamped_now(value: dict[str, object], field: str) -> dict[str, object]:
    """`value` with its event-time `field` set to the wall clock: a live run (the demo) shows
    events happening now, where a replayed history keeps its simulated times."""
    return {**value, field: int(time.time() * 1000)}


def paced(items: Iterable[T], rate: float | None) -> Iterator[T]:
    """Yield `items` at about `rate` per second (all at once when `rate` is None)."""
    if rate is None:
        yield from items
        return
    interval = 1.0 / rate
    started = time.monotonic()
    for index, item in enumerate(items):
        delay = started + index * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        yield item
