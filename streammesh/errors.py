"""The one error root of StreamMesh; each package derives its own errors from it."""


class StreamMeshError(Exception):
    """Base of every error StreamMesh raises on purpose."""
