"""Unit tests of the registry domain core (no Kafka)."""
