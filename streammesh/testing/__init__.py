"""Test support: a real Kafka for a test session, wherever the tests run."""
