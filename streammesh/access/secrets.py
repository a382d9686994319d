"""Where SCRAM passwords live on the machine that manages them: one 0600 file per user.

A service is given its file (`STREAMMESH_SASL_PASSWORD_FILE`), never the password on a command
line; `streammesh access apply` and `rotate` write them, nothing ever prints them.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import SecretStr


def new_password() -> str:
    """256 random bits, URL-safe (no quoting in JAAS lines or env files)."""
    return secrets.token_urlsafe(32)


def write_secret(path: Path, value: str) -> None:
    """Write `value` to `path` readable by this user only, created so from the start, and
    replace any previous file at once (a reader sees the old or the new, never half)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    staging = path.with_name(f".{path.name}.new")
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    staging.replace(path)


class SecretStore:
    """The password files of a folder, `<user>.password`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, user: str) -> Path:
        return self.folder / f"{user}.password"

    def read(self, user: str) -> SecretStr | None:
        try:
            text = self.path(user).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return SecretStr(text) if text else None

    def write(self, user: str, password: SecretStr) -> Path:
        path = self.path(user)
        write_secret(path, password.get_secret_value())
        return path
