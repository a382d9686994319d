"""Config and mode as the registry resolves them: Confluent's defaults, a subject's own config
or mode over the global one, and the read-only check every write makes.

Reads answer ``/config`` and ``/mode`` with these, and every write checks the mode and the
compatibility level in force with them, so they are plain functions of the state that
neither side owns.
"""

from services.registry.core.compatibility import CompatibilityLevel
from services.registry.core.state import RegistryState
from services.registry.errors import (
    OperationNotPermittedError,
    SubjectCompatibilityNotConfiguredError,
    SubjectNotFoundError,
)
from services.registry.models import Config

READWRITE, READONLY, READONLY_OVERRIDE, IMPORT = (
    "READWRITE",
    "READONLY",
    "READONLY_OVERRIDE",
    "IMPORT",
)
MODES = frozenset({READWRITE, READONLY, READONLY_OVERRIDE, IMPORT})
DEFAULT_CONFIG = Config(compatibility_level=CompatibilityLevel.BACKWARD, normalize=False)


def merge_config(base: Config, override: Config | None) -> Config:
    """`base` with every field `override` sets."""
    if override is None:
        return base
    given = {name: getattr(override, name) for name in type(override).model_fields}
    return base.model_copy(update={k: v for k, v in given.items() if v is not None})


def effective_config(state: RegistryState, subject: str | None) -> Config:
    """The config in force: the defaults, the global config over them, the subject's over that."""
    config = merge_config(DEFAULT_CONFIG, state.configs.get(None))
    return config if subject is None else merge_config(config, state.configs.get(subject))


def subject_config(state: RegistryState, subject: str) -> Config:
    """The subject's own config: 40401 for an unknown subject, 40408 when it has none."""
    config = state.configs.get(subject)
    if config is not None:
        return config
    if not state.versions(subject, deleted=True):
        raise SubjectNotFoundError(subject)
    raise SubjectCompatibilityNotConfiguredError(subject)


def effective_mode(state: RegistryState, subject: str | None) -> str:
    global_mode = state.modes.get(None, READWRITE)
    # READONLY_OVERRIDE on the global mode wins over every subject's own mode.
    if subject is None or global_mode == READONLY_OVERRIDE:
        return global_mode
    return state.modes.get(subject, global_mode)


def check_writable(state: RegistryState, subject: str) -> None:
    if effective_mode(state, subject) in (READONLY, READONLY_OVERRIDE):
        raise OperationNotPermittedError(f"Subject {subject} is in read-only mode")
