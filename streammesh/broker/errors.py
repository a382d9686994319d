"""Errors of the local broker launcher; each message says what to do next."""

from streammesh.errors import StreamMeshError

USE_EXISTING = (
    "To use an existing Kafka cluster instead, set STREAMMESH_BOOTSTRAP_SERVERS=host:port."
)


class BrokerError(StreamMeshError):
    """The local broker could not be installed, started or stopped."""


class JavaNotFoundError(BrokerError):
    pass


class JavaTooOldError(BrokerError):
    pass


class MavenNotFoundError(BrokerError):
    pass


class MavenUnreachableError(BrokerError):
    pass


class PortInUseError(BrokerError):
    pass


class BrokerStartError(BrokerError):
    pass
