"""The Faust runtime of the mesh: what a faust-streaming processor needs besides its own logic.

A processor builds its app from these pieces (see `domains/marketing/cltv/app.py`):

- `App` (`fetch.py`): consumes with a fetch loop that runs records' callbacks inline, hands
  the records of `App.inline` topics straight to a handler, and long-polls for
  `fetch_max_wait_ms`;
- `DirectProducer`, `flush_before_commits` (`producer.py`): one librdkafka producer for every
  write, drained with Faust's own buffer before every offset commit;
- `DirectTable`, `direct_table`, `TableState` (`tables.py`): tables with explicit changelog
  codecs, whose changelog records go through the `DirectProducer`;
- `ensure_internal_topics`, `changelog_spec` (`topics.py`): the internal topics, made before
  the worker starts;
- `AvroCodec`, `product_codecs`, `writer_codec`, `Utf8Codec`, `decode_input` (`codecs.py`);
- `ProductWriter` (`writer.py`): a product's records, dead-lettered when they do not fit;
- `broker_credentials` (`credentials.py`): Faust's credentials from the mesh's Kafka security
  settings (`App(security=...)` uses it; `DirectProducer` and `ensure_internal_topics` take the
  same `security`).

Each module's docstring says which Faust pitfall it handles; `README.md` lists them all.
Kept out of `streammesh.sdk`'s namespace so that importing the SDK does not import Faust.
"""

from streammesh.faust.codecs import (
    UNREADABLE,
    AvroCodec,
    CodecError,
    ProductCodecs,
    Utf8Codec,
    decode_input,
    product_codecs,
    registry_codec,
    writer_codec,
)
from streammesh.faust.credentials import broker_credentials
from streammesh.faust.fetch import App, InlineHandler, deliver
from streammesh.faust.producer import (
    DirectProducer,
    DrainingProducerBuffer,
    ProducerFailedError,
    flush_before_commits,
)
from streammesh.faust.tables import DirectTable, TableState, direct_table
from streammesh.faust.topics import changelog_spec, changelog_topic, ensure_internal_topics
from streammesh.faust.writer import ProductWriter

__all__ = [
    "UNREADABLE",
    "App",
    "AvroCodec",
    "CodecError",
    "DirectProducer",
    "DirectTable",
    "DrainingProducerBuffer",
    "InlineHandler",
    "ProducerFailedError",
    "ProductCodecs",
    "ProductWriter",
    "TableState",
    "Utf8Codec",
    "broker_credentials",
    "changelog_spec",
    "changelog_topic",
    "decode_input",
    "deliver",
    "direct_table",
    "ensure_internal_topics",
    "flush_before_commits",
    "product_codecs",
    "registry_codec",
    "writer_codec",
]
