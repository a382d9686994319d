"""A single-node KRaft Apache Kafka broker run from the jars on Maven Central."""

from streammesh.broker.errors import BrokerError
from streammesh.broker.launcher import BrokerStatus, LocalBroker
from streammesh.broker.settings import BrokerSettings

__all__ = ["BrokerError", "BrokerSettings", "BrokerStatus", "LocalBroker"]
