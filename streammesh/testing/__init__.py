"""Test and benchmark support: a real Kafka for a run, and ASGI apps served on real ports."""
