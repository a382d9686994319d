"""Errors of the quality monitor."""

from streammesh.errors import StreamMeshError


class MonitorError(StreamMeshError):
    """Base of every error the quality monitor raises on purpose."""


class CatalogUnavailableError(MonitorError):
    """The catalog or the schema registry could not be read; the monitor retries."""


class DeadLetterError(MonitorError):
    """A dead letter was not acknowledged; the batch is not committed and is checked again."""
