"""Faust tables whose changelog records go through the `DirectProducer`, and a fast view of one.

Faust pitfalls handled here:

- `Table(schema=...)` is ignored: Faust derives a table's serializers from its key and value
  types (JSON unless they are Records). `direct_table` gives the table an explicit changelog
  topic with the processor's codecs, so recovery decodes what was written and routing hashes
  the key bytes the inputs were placed by.
- Faust writes a changelog record through its own producer, with futures and event-loop turns
  per record (`producer.py`); `DirectTable` sends it through the `DirectProducer`.
- `Table.__setitem__` looks up the current event and calls sensors per write, a large share
  of a cheap event's cost. `TableState` reads and writes the in-memory store directly and
  sends each write's changelog record, in the order made, to the partition it is told.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from typing import Any, Generic, TypeVar

import faust
from faust.serializers.codecs import Codec

from streammesh.faust.producer import DirectProducer
from streammesh.faust.topics import changelog_topic

V = TypeVar("V")


class DirectTable(faust.Table[str, Any]):
    """A table whose changelog records go through the `DirectProducer`.

    The app's `Table` class (`faust.App(..., Table=DirectTable)`), made by `direct_table`.
    """

    direct: DirectProducer
    key_codec: Codec
    value_codec: Codec

    def on_key_set(self, key: str, value: Any) -> None:
        partition = self.partition_for_key(key)  # the current event's partition
        self.direct.produce(
            self.changelog_topic.get_topic_name(),
            self.key_codec.dumps(key),
            self.value_codec.dumps(value),
            partition,
        )
        self._sensor_on_set(self, key, value)

    def on_key_del(self, key: str) -> None:
        partition = self.partition_for_key(key)
        self.direct.produce(
            self.changelog_topic.get_topic_name(), self.key_codec.dumps(key), None, partition
        )
        self._sensor_on_del(self, key)


def direct_table(
    app: faust.App,
    name: str,
    partitions: int,
    keys: Codec,
    values: Codec,
    direct: DirectProducer,
) -> DirectTable:
    """A table whose changelog, `<app id>-<name>-changelog`, carries `keys` and `values`."""
    changelog = app.topic(
        changelog_topic(app.conf.id, name),
        key_serializer=keys,
        value_serializer=values,
        partitions=partitions,
        compacting=True,
        internal=True,
        acks=False,
        maxsize=131_072,  # as Faust's own: changelogs are read without commits
        allow_empty=True,
    )
    table = app.Table(name, partitions=partitions, changelog_topic=changelog)
    assert isinstance(table, DirectTable)  # the app's Table class
    table.direct, table.key_codec, table.value_codec = direct, keys, values
    return table


class TableState(MutableMapping[str, V], Generic[V]):
    """A `DirectTable` as a plain mapping, for the event being processed in `partition`.

    Reads and writes go to the table's in-memory store; each write sends its changelog record
    to `partition` through the `DirectProducer` in the order made. Keys are encoded as UTF-8
    and values by `encode`: the bytes of the table's codecs (`Utf8Codec` and the value codec),
    without Faust's codec wrappers.
    """

    def __init__(self, table: DirectTable, encode: Callable[[V], bytes]) -> None:
        self._table = table
        self._encode = encode
        self._direct = table.direct
        self._changelog = table.changelog_topic.get_topic_name()
        self.partition = 0

    @property
    def _data(self) -> MutableMapping[str, Any]:
        # the memory store's dict, looked up per call: Faust may replace the store
        data: MutableMapping[str, Any] = self._table.data.data
        return data

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def __getitem__(self, key: str) -> V:
        value: V = self._data[key]
        return value

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __setitem__(self, key: str, value: V) -> None:
        self._data[key] = value
        self._direct.produce(self._changelog, key.encode(), self._encode(value), self.partition)

    def __delitem__(self, key: str) -> None:
        raise NotImplementedError("state is never deleted through this view")

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)
