from typing import Any

class Names:
    default_namespace: str | None
    names: dict[str, Any]
    def __init__(
        self, default_namespace: str | None = None, validate_names: bool = True
    ) -> None: ...

def __getattr__(name: str) -> Any: ...
