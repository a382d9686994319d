"""Per-domain credentials for the demo's registry: generated fresh, hashed on disk."""

from __future__ import annotations

import secrets
from pathlib import Path

import yaml

from streammesh.cli.services import registry_password_hash

DOMAINS = ("sales", "customers", "marketing")


def generate(folder: Path) -> tuple[Path, dict[str, str]]:
    """Write ``users.yaml`` for the registry; return it and ``user -> "user:password"``."""
    passwords = {name: secrets.token_urlsafe(12) for name in (*DOMAINS, "admin", "monitor")}
    roles = {"admin": "admin", "monitor": "reader"}
    users = {
        name: {
            "password": registry_password_hash(password, iterations=20_000),
            "role": roles.get(name, "owner"),
            "domains": [name] if name in DOMAINS else [],
        }
        for name, password in passwords.items()
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "users.yaml"
    path.write_text(yaml.safe_dump({"users": users}))
    path.chmod(0o600)
    (folder / "credentials.txt").write_text(
        "".join(f"{name}:{password}\n" for name, password in passwords.items())
    )
    (folder / "credentials.txt").chmod(0o600)
    return path, {name: f"{name}:{password}" for name, password in passwords.items()}
