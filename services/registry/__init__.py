"""Schema registry: a Confluent-compatible Avro registry whose state is a compacted Kafka log."""
