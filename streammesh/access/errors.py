"""Errors of access management."""

from streammesh.errors import StreamMeshError


class AccessError(StreamMeshError):
    """Kafka refused or failed an ACL or credential change, or a read of them."""


class AuthorizerMissingError(AccessError):
    """The cluster runs without an authorizer, so it holds no ACLs and takes none."""
