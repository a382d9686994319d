# Stubs for the parts of cel-expr-python 0.1.3 StreamMesh uses. The wheel ships a cel.pyi but no
# py.typed marker, and its stub leaves some parameters untyped and imports protobuf for types.
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

class Type:
    BOOL: ClassVar[Type]
    BYTES: ClassVar[Type]
    DOUBLE: ClassVar[Type]
    DURATION: ClassVar[Type]
    DYN: ClassVar[Type]
    ERROR: ClassVar[Type]
    INT: ClassVar[Type]
    LIST: ClassVar[Type]
    MAP: ClassVar[Type]
    NULL: ClassVar[Type]
    STRING: ClassVar[Type]
    TIMESTAMP: ClassVar[Type]
    TYPE: ClassVar[Type]
    UINT: ClassVar[Type]
    UNKNOWN: ClassVar[Type]
    def __init__(self, signature: str) -> None: ...
    def name(self) -> str: ...
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

class Value:
    def plain_value(self) -> Any: ...
    def type(self) -> Type: ...
    def value(self) -> Any: ...

class Activation: ...

class Expression:
    def eval(
        self, activation: Activation | None = ..., data: Mapping[str, Any] | None = ...
    ) -> Value: ...
    def return_type(self) -> Type: ...
    def serialize(self) -> bytes: ...

class CelExtensionBase:
    def __init__(self, name: str) -> None: ...

class Overload:
    def __init__(
        self,
        id: str | None = ...,
        return_type: Type = ...,
        parameters: Sequence[Type] = ...,
        is_member: bool = ...,
        impl: Callable[..., Any] | None = ...,
        signature: str | None = ...,
    ) -> None: ...

class FunctionDecl:
    def __init__(self, name: str, overloads: Sequence[Overload]) -> None: ...

class Env:
    def Activation(self, data: Mapping[str, Any] | None = ...) -> Activation: ...  # noqa: N802
    def compile(self, expression: str, disable_check: bool = ...) -> Expression: ...
    def deserialize(self, serialized: str | bytes) -> Expression: ...

def NewEnv(  # noqa: N802
    descriptor_pool: Any | None = ...,
    variables: Mapping[str, Type] | None = ...,
    extensions: Sequence[CelExtensionBase] | None = ...,
    container: str | None = ...,
    functions: Sequence[FunctionDecl] | None = ...,
) -> Env: ...
