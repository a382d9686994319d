"""StreamMesh: an event-driven data mesh on Apache Kafka."""

__version__ = "0.1.0"
