"""Registry errors: each carries its HTTP status and Confluent error code, in Confluent's words."""

from enum import IntEnum
from typing import ClassVar

from streammesh.errors import StreamMeshError


class ErrorCode(IntEnum):
    """Confluent Schema Registry's `error_code` values, plus the plain HTTP ones it also uses."""

    UNKNOWN_ROUTE = 404
    METHOD_NOT_ALLOWED = 405
    INCOMPATIBLE_SCHEMA = 409
    PAYLOAD_TOO_LARGE = 413
    UNSUPPORTED_MEDIA_TYPE = 415
    UNPROCESSABLE_ENTITY = 422
    UNAUTHORIZED = 40101
    FORBIDDEN = 40301
    SUBJECT_NOT_FOUND = 40401
    VERSION_NOT_FOUND = 40402
    SCHEMA_NOT_FOUND = 40403
    SUBJECT_SOFT_DELETED = 40404
    SUBJECT_NOT_SOFT_DELETED = 40405
    VERSION_SOFT_DELETED = 40406
    VERSION_NOT_SOFT_DELETED = 40407
    SUBJECT_COMPATIBILITY_NOT_CONFIGURED = 40408
    SUBJECT_MODE_NOT_CONFIGURED = 40409
    INVALID_SCHEMA = 42201
    INVALID_VERSION = 42202
    INVALID_COMPATIBILITY_LEVEL = 42203
    INVALID_MODE = 42204
    OPERATION_NOT_PERMITTED = 42205
    REFERENCE_EXISTS = 42206
    # StreamMesh's catalog, in ranges Confluent leaves unused.
    PRODUCT_NOT_FOUND = 40470
    POLICY_VIOLATION = 42290
    INVALID_LIFECYCLE = 42291
    STORE_ERROR = 50001
    OPERATION_TIMEOUT = 50002
    FORWARDING_ERROR = 50003
    UNKNOWN_LEADER = 50004


class RegistryError(StreamMeshError):
    """A failure the HTTP layer renders as `{"error_code", "message"}` with `http_status`."""

    default_http_status: ClassVar[int] = 500
    default_error_code: ClassVar[int] = ErrorCode.STORE_ERROR

    def __init__(
        self, message: str, *, http_status: int | None = None, error_code: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status or self.default_http_status
        self.error_code = error_code or self.default_error_code


class NotFoundError(RegistryError):
    default_http_status = 404


class UnprocessableError(RegistryError):
    default_http_status = 422


# Plain HTTP errors the HTTP layer raises itself; messages follow Jersey's, which Confluent returns.
class UnknownRouteError(NotFoundError):
    default_error_code = ErrorCode.UNKNOWN_ROUTE

    def __init__(self) -> None:
        super().__init__("HTTP 404 Not Found")


class MethodNotAllowedError(RegistryError):
    default_http_status = 405
    default_error_code = ErrorCode.METHOD_NOT_ALLOWED

    def __init__(self) -> None:
        super().__init__("HTTP 405 Method Not Allowed")


class PayloadTooLargeError(RegistryError):
    default_http_status = 413
    default_error_code = ErrorCode.PAYLOAD_TOO_LARGE

    def __init__(self, limit: int) -> None:
        super().__init__(f"HTTP 413 Payload Too Large: a request body may be {limit} bytes")


class UnsupportedMediaTypeError(RegistryError):
    default_http_status = 415
    default_error_code = ErrorCode.UNSUPPORTED_MEDIA_TYPE

    def __init__(self) -> None:
        super().__init__("HTTP 415 Unsupported Media Type")


class UnprocessableEntityError(UnprocessableError):
    default_error_code = ErrorCode.UNPROCESSABLE_ENTITY


class UnauthorizedError(RegistryError):
    default_http_status = 401
    default_error_code = ErrorCode.UNAUTHORIZED

    def __init__(self, message: str = "Unauthorized") -> None:
        super().__init__(message)


class ForbiddenError(RegistryError):
    default_http_status = 403
    default_error_code = ErrorCode.FORBIDDEN

    def __init__(self, message: str = "Forbidden") -> None:
        super().__init__(message)


class SubjectNotFoundError(NotFoundError):
    default_error_code = ErrorCode.SUBJECT_NOT_FOUND

    def __init__(self, subject: str) -> None:
        super().__init__(f"Subject '{subject}' not found.")


class VersionNotFoundError(NotFoundError):
    default_error_code = ErrorCode.VERSION_NOT_FOUND

    def __init__(self, version: int | str) -> None:
        super().__init__(f"Version {version} not found.")


class SchemaNotFoundError(NotFoundError):
    default_error_code = ErrorCode.SCHEMA_NOT_FOUND

    def __init__(self, id_or_guid: int | str | None = None) -> None:
        super().__init__(
            "Schema not found" if id_or_guid is None else f"Schema {id_or_guid} not found"
        )


# Confluent's messages lack the space after "deleted."; clients match on them, so keep it.
class SubjectSoftDeletedError(NotFoundError):
    default_error_code = ErrorCode.SUBJECT_SOFT_DELETED

    def __init__(self, subject: str) -> None:
        super().__init__(
            f"Subject '{subject}' was soft deleted.Set permanent=true to delete permanently"
        )


class SubjectNotSoftDeletedError(NotFoundError):
    default_error_code = ErrorCode.SUBJECT_NOT_SOFT_DELETED

    def __init__(self, subject: str) -> None:
        super().__init__(
            f"Subject '{subject}' was not deleted first before being permanently deleted"
        )


class VersionSoftDeletedError(NotFoundError):
    default_error_code = ErrorCode.VERSION_SOFT_DELETED

    def __init__(self, subject: str, version: int) -> None:
        super().__init__(
            f"Subject '{subject}' Version {version} was soft deleted."
            "Set permanent=true to delete permanently"
        )


class VersionNotSoftDeletedError(NotFoundError):
    default_error_code = ErrorCode.VERSION_NOT_SOFT_DELETED

    def __init__(self, subject: str, version: int) -> None:
        super().__init__(
            f"Subject '{subject}' Version {version} was not deleted first "
            "before being permanently deleted"
        )


class SubjectCompatibilityNotConfiguredError(NotFoundError):
    default_error_code = ErrorCode.SUBJECT_COMPATIBILITY_NOT_CONFIGURED

    def __init__(self, subject: str) -> None:
        super().__init__(
            f"Subject '{subject}' does not have subject-level compatibility configured"
        )


class SubjectModeNotConfiguredError(NotFoundError):
    default_error_code = ErrorCode.SUBJECT_MODE_NOT_CONFIGURED

    def __init__(self, subject: str) -> None:
        super().__init__(f"Subject '{subject}' does not have subject-level mode configured")


class IncompatibleSchemaError(RegistryError):
    default_http_status = 409
    default_error_code = ErrorCode.INCOMPATIBLE_SCHEMA

    def __init__(self, subject: str, messages: list[str]) -> None:
        # Java's List.toString() joins with ", " inside brackets.
        super().__init__(
            "Schema being registered is incompatible with an earlier schema for subject "
            f'"{subject}", details: [{", ".join(messages)}]'
        )
        self.messages = messages


class InvalidSchemaError(UnprocessableError):
    default_error_code = ErrorCode.INVALID_SCHEMA


class InvalidVersionError(UnprocessableError):
    default_error_code = ErrorCode.INVALID_VERSION

    def __init__(self, version: object) -> None:
        super().__init__(
            f"The specified version '{version}' is not a valid version id. "
            'Allowed values are between [1, 2^31-1] and the string "latest"'
        )


class InvalidCompatibilityLevelError(UnprocessableError):
    default_error_code = ErrorCode.INVALID_COMPATIBILITY_LEVEL

    def __init__(self) -> None:
        super().__init__(
            "Invalid compatibility level. Valid values are none, backward, forward, full, "
            "backward_transitive, forward_transitive, and full_transitive"
        )


class CompatibilityFloorError(UnprocessableError):
    """A data product's subject would be left below the compatibility floor (see
    ``catalog/governance.py``); an invalid level as far as that subject is concerned."""

    default_error_code = ErrorCode.INVALID_COMPATIBILITY_LEVEL

    def __init__(self, subject: str, product: str, level: str, floor: str, allowed: str) -> None:
        super().__init__(
            f"Subject '{subject}' belongs to data product '{product}': its compatibility level "
            f"cannot become {level}, below the floor {floor} (allowed: {allowed}). "
            "A breaking change ships as a new major version of the product"
        )


class InvalidModeError(UnprocessableError):
    default_error_code = ErrorCode.INVALID_MODE

    def __init__(self) -> None:
        super().__init__("Invalid mode. Valid values are READWRITE, READONLY, and IMPORT.")


class OperationNotPermittedError(UnprocessableError):
    default_error_code = ErrorCode.OPERATION_NOT_PERMITTED


class ReferenceExistsError(UnprocessableError):
    default_error_code = ErrorCode.REFERENCE_EXISTS

    def __init__(self, subject: str, version: int) -> None:
        super().__init__(
            "One or more references exist to the schema "
            f"{{magic=1,keytype=SCHEMA,subject={subject},version={version}}}."
        )


class StoreError(RegistryError):
    default_error_code = ErrorCode.STORE_ERROR

    def __init__(
        self, message: str = "Error while registering the schema in the backend Kafka store"
    ) -> None:
        super().__init__(message)


class StoreTimeoutError(RegistryError):
    default_error_code = ErrorCode.OPERATION_TIMEOUT

    def __init__(self, message: str = "Write to the Kafka store timed out while") -> None:
        super().__init__(message)


class ForwardingError(RegistryError):
    default_error_code = ErrorCode.FORWARDING_ERROR

    def __init__(self, message: str = "Error while forwarding the request to the leader") -> None:
        super().__init__(message)


class NotLeaderError(RegistryError):
    """This instance may not write: it is not (or no longer) the elected leader, or none is
    known yet. Retrying soon reaches the new leader."""

    default_error_code = ErrorCode.UNKNOWN_LEADER

    def __init__(self, message: str = "Leader not known") -> None:
        super().__init__(message)


class ProductNotFoundError(NotFoundError):
    default_error_code = ErrorCode.PRODUCT_NOT_FOUND

    def __init__(self, product: str) -> None:
        super().__init__(f"Data product '{product}' not found.")


class PolicyViolationError(UnprocessableError):
    """A governance policy refused a descriptor; nothing was registered."""

    default_error_code = ErrorCode.POLICY_VIOLATION

    def __init__(self, product: str, violations: list[str]) -> None:
        self.violations = violations
        listed = "; ".join(violations)
        super().__init__(f"Data product '{product}' violates governance policies: {listed}")


class LifecycleError(UnprocessableError):
    default_error_code = ErrorCode.INVALID_LIFECYCLE


class ConfigurationError(StreamMeshError):
    """The registry's settings cannot work together; raised at start, never per request."""
