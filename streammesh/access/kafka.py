"""The access model through Kafka's Admin API: ACL bindings read, created and deleted, SCRAM
credentials described and upserted. Every call waits for its result and raises `AccessError`
naming what failed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from typing import Any, Final

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ConfigEntry,
    ConfigResource,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialAlteration,
    UserScramCredentialUpsertion,
)
from pydantic import SecretStr

from streammesh.access.acls import Acl, AclDiff, Operation, Pattern, Permission, Resource
from streammesh.access.errors import AccessError, AuthorizerMissingError

#: PBKDF2 rounds of each credential StreamMesh makes (Kafka's minimum is 4096).
SCRAM_ITERATIONS: Final = 8192
_TIMEOUT: Final = 30.0

_RESOURCES: Final = {
    Resource.TOPIC: ResourceType.TOPIC,
    Resource.GROUP: ResourceType.GROUP,
    Resource.TRANSACTIONAL_ID: ResourceType.TRANSACTIONAL_ID,
    Resource.CLUSTER: ResourceType.BROKER,  # librdkafka's name for the cluster resource
}
_PATTERNS: Final = {
    Pattern.LITERAL: ResourcePatternType.LITERAL,
    Pattern.PREFIXED: ResourcePatternType.PREFIXED,
}
_PERMISSIONS: Final = {
    Permission.ALLOW: AclPermissionType.ALLOW,
    Permission.DENY: AclPermissionType.DENY,
}


def to_binding(acl: Acl) -> AclBinding:
    return AclBinding(
        _RESOURCES[acl.resource],
        acl.name,
        _PATTERNS[acl.pattern],
        acl.principal,
        acl.host,
        AclOperation[acl.operation.name],
        _PERMISSIONS[acl.permission],
    )


def from_binding(binding: AclBinding) -> Acl | None:
    """The binding as an `Acl`; None for a kind StreamMesh never makes (a resource, pattern
    or operation librdkafka reports as unknown)."""
    restype, pattern = binding.restype, binding.resource_pattern_type
    operation, permission = binding.operation, binding.permission_type
    if not (
        isinstance(restype, ResourceType)
        and isinstance(pattern, ResourcePatternType)
        and isinstance(operation, AclOperation)
        and isinstance(permission, AclPermissionType)
    ):
        return None
    resources = {v: k for k, v in _RESOURCES.items()}
    patterns = {v: k for k, v in _PATTERNS.items()}
    permissions = {v: k for k, v in _PERMISSIONS.items()}
    try:
        return Acl(
            principal=binding.principal,
            resource=resources[restype],
            name=binding.name,
            pattern=patterns[pattern],
            operation=Operation[operation.name],
            permission=permissions[permission],
            host=binding.host,
        )
    except KeyError:
        return None


def _exact_filter(acl: Acl) -> AclBindingFilter:
    binding = to_binding(acl)
    return AclBindingFilter(
        binding.restype,
        binding.name,
        binding.resource_pattern_type,
        binding.principal,
        binding.host,
        binding.operation,
        binding.permission_type,
    )


def has_authorizer(admin: AdminClient) -> bool:
    """Whether the brokers run an authorizer, read from a broker's `authorizer.class.name`.

    Asked because a KRaft cluster without one answers DescribeAcls with no bindings and only
    refuses CreateAcls (SECURITY_DISABLED), so reading ACLs alone cannot tell."""
    try:
        brokers = admin.list_topics(timeout=_TIMEOUT).brokers
        resource = ConfigResource(ResourceType.BROKER, str(min(brokers)))
        future = admin.describe_configs([resource], request_timeout=_TIMEOUT)[resource]
        entries: dict[str, ConfigEntry] = future.result(timeout=_TIMEOUT)
    except (KafkaException, ValueError) as exc:
        raise AccessError(f"cannot read the brokers' configuration: {exc}") from None
    entry = entries.get("authorizer.class.name")
    return entry is not None and bool(entry.value)


def current_acls(admin: AdminClient) -> list[Acl]:
    """Every ACL binding the cluster holds, of any principal. `AuthorizerMissingError` when
    the cluster runs without an authorizer (a PLAINTEXT development broker)."""
    if not has_authorizer(admin):
        raise AuthorizerMissingError("the broker runs without an authorizer")
    # None matches any name, principal and host; confluent-kafka's stubs type them as str.
    every = AclBindingFilter(
        ResourceType.ANY,
        None,  # type: ignore[arg-type]
        ResourcePatternType.ANY,
        None,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        AclOperation.ANY,
        AclPermissionType.ANY,
    )
    try:
        bindings = admin.describe_acls(every, request_timeout=_TIMEOUT).result(timeout=_TIMEOUT)
    except KafkaException as exc:
        error = exc.args[0] if exc.args else None
        if isinstance(error, KafkaError) and error.code() == KafkaError.SECURITY_DISABLED:
            raise AuthorizerMissingError("the broker runs without an authorizer") from None
        raise AccessError(f"cannot read the cluster's ACLs: {exc}") from None
    return [acl for acl in map(from_binding, bindings) if acl is not None]


def apply_acl_diff(admin: AdminClient, diff: AclDiff) -> None:
    """Create what `diff` adds, then delete what it removes, each binding exactly (a filter
    matching one binding only, so nothing else goes with it)."""
    if diff.add:
        created = admin.create_acls([to_binding(acl) for acl in diff.add], request_timeout=_TIMEOUT)
        _wait(created.values(), "create ACLs")
    if diff.remove:
        deleted = admin.delete_acls(
            [_exact_filter(acl) for acl in diff.remove], request_timeout=_TIMEOUT
        )
        _wait(deleted.values(), "delete ACLs")


def scram_users(admin: AdminClient) -> set[str]:
    """The users holding a SCRAM-SHA-512 credential."""
    request = admin.describe_user_scram_credentials(request_timeout=_TIMEOUT)
    assert not isinstance(request, dict)  # asked for every user, it answers with one future
    try:
        described = request.result(timeout=_TIMEOUT)
    except KafkaException as exc:
        raise AccessError(f"cannot read the SCRAM users: {exc}") from None
    return {
        user
        for user, description in described.items()
        if any(
            info.mechanism is ScramMechanism.SCRAM_SHA_512
            for info in description.scram_credential_infos
        )
    }


def upsert_credentials(admin: AdminClient, passwords: Mapping[str, SecretStr]) -> None:
    """Set each user's SCRAM-SHA-512 credential to its password (a new salt each time)."""
    if not passwords:
        return
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS)
    upserts: list[UserScramCredentialAlteration] = [
        UserScramCredentialUpsertion(user, info, secret.get_secret_value().encode())
        for user, secret in passwords.items()
    ]
    futures = admin.alter_user_scram_credentials(upserts, request_timeout=_TIMEOUT)
    _wait(futures.values(), "set SCRAM credentials")


def _wait(futures: Iterable[Future[Any]], what: str) -> None:
    failures: list[str] = []
    for future in futures:
        try:
            future.result(timeout=_TIMEOUT)
        except KafkaException as exc:
            failures.append(str(exc))
    if failures:
        raise AccessError(f"cannot {what}: {'; '.join(sorted(set(failures)))}")
