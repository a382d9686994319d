"""Writing a data product from a processor: encoded by the product's codecs, queued on the
`DirectProducer`, dead-lettered when a record does not fit.

Faust pitfall handled here: an exception in an agent (or in an inline handler) stops the
worker, and a restarted worker meets the same input record again, so a record the product
cannot carry (a value beyond its decimal's precision, say) would stop the processor for good.
`ProductWriter` sends such a record, as JSON with the reason, to the product's dead-letter
topic and lets the worker go on. A registry that cannot answer is raised, not dead-lettered:
the input is then read again once it answers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from streammesh.deadletter import PayloadFormat, Reason, dead_letter_headers, dlq_topic
from streammesh.faust.codecs import AvroCodec
from streammesh.faust.producer import DirectProducer
from streammesh.sdk.convert import to_json
from streammesh.serde import RecordMismatchError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ProductWriter:
    """Writes a product's records, encoded by its codecs, through the `DirectProducer`."""

    direct: DirectProducer
    topic: str
    key_codec: AvroCodec
    value_codec: AvroCodec
    #: Encoded keys: a key (a customer, say) is written again with every change of its value.
    keys: dict[str, bytes] = field(default_factory=dict)

    KEYS_KEPT = 100_000

    def write(self, key: str, value: Mapping[str, object]) -> bool:
        """Queue the record; False when its value does not fit the product's schema: then the
        record goes, as JSON, to the product's dead-letter topic with the reason."""
        key_bytes = self.keys.get(key)
        if key_bytes is None:
            if len(self.keys) >= self.KEYS_KEPT:
                self.keys.clear()
            key_bytes = self.keys[key] = self.key_codec.dumps(key)
        try:
            value_bytes = self.value_codec.dumps(value)
        except RecordMismatchError as exc:  # a registry that cannot answer is raised, not this
            self._dead_letter(key_bytes, value, exc)
            return False
        self.direct.produce(self.topic, key_bytes, value_bytes)
        return True

    def _dead_letter(self, key: bytes, value: Mapping[str, object], error: Exception) -> None:
        log.error("%s: a record for %r does not fit the product schema: %s", self.topic, key, error)
        headers = dead_letter_headers(
            None,
            reason=Reason.UNDECODABLE,
            message=str(error),
            topic=self.topic,
            subject=f"{self.topic}-value",
            fmt=PayloadFormat.JSON,
        )
        # json, not orjson: an integer past 64 bits (one reason a record may not fit) is kept
        payload = json.dumps({name: to_json(item) for name, item in value.items()}).encode()
        self.direct.produce(dlq_topic(self.topic), key, payload, headers=headers)
