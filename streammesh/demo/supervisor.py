"""Start the mesh's processes in order, each ready before the next; stop them in reverse."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from streammesh.errors import StreamMeshError


class DemoError(StreamMeshError):
    """A part of the demo failed to start or died."""


@dataclass(frozen=True)
class Part:
    """One process of the mesh: how to run it and how to know it is ready."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    ready_url: str | None = None  # ready when this answers 200
    ready_timeout: float = 90.0


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def http_ready(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


class Supervisor:
    def __init__(self, logs: Path, on_event: Callable[[str], None] = print) -> None:
        self.logs = logs
        self.logs.mkdir(parents=True, exist_ok=True)
        self.running: list[tuple[Part, subprocess.Popen[bytes]]] = []
        self._say = on_event

    def start(self, part: Part) -> None:
        log = (self.logs / f"{part.name}.log").open("ab")
        process = subprocess.Popen(
            part.argv,
            env={**os.environ, **part.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches us only; we stop the parts in order
        )
        log.close()
        self.running.append((part, process))
        deadline = time.monotonic() + part.ready_timeout
        while part.ready_url is not None and not http_ready(part.ready_url):
            if process.poll() is not None:
                raise DemoError(f"{part.name} exited with {process.returncode}; {self.tail(part)}")
            if time.monotonic() > deadline:
                raise DemoError(
                    f"{part.name} was not ready in {part.ready_timeout:g}s; {self.tail(part)}"
                )
            time.sleep(0.2)
        self._say(f"  started {part.name} (pid {process.pid})")

    def tail(self, part: Part, lines: int = 15) -> str:
        path = self.logs / f"{part.name}.log"
        text = path.read_text(errors="replace").splitlines()[-lines:] if path.exists() else []
        return f"its log ({path}) ends:\n" + "\n".join(text)

    def dead(self) -> list[str]:
        return [p.name for p, process in self.running if process.poll() is not None]

    def stop_all(self, timeout: float = 20.0) -> None:
        for part, process in reversed(self.running):
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            self._say(f"  stopped {part.name}")
        self.running.clear()
