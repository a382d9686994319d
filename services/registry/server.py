"""Serving the registry: one process, or several workers sharing one port.

With several workers (one per core in production) every worker replays the log, serves reads
from its own copy and takes part in the leader election like any other instance; each also
listens on a private port of its own, which it advertises, so the others can forward writes to
whichever worker leads. The public socket is bound once here and shared. A worker whose parent
dies (even by SIGKILL) shuts down on its own.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType
from urllib.parse import urlsplit, urlunsplit

import uvicorn

from services.registry.app import create_app
from services.registry.settings import RegistrySettings

log = logging.getLogger("services.registry")
#: How long a worker drains after its parent died before it exits regardless.
_ORPHAN_GRACE_SECONDS = 5.0


def _configure_logging(settings: RegistrySettings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    # httpx logs every request at INFO: one line per forwarded write is noise, not news.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _run(settings: RegistrySettings, sockets: list[socket.socket]) -> None:
    _configure_logging(settings)
    config = uvicorn.Config(
        create_app(settings), log_level=settings.log_level, access_log=False, lifespan="on"
    )
    uvicorn.Server(config).run(sockets=sockets)


def _exit_with_parent() -> None:
    """SIGTERM this worker once its parent is gone; exit outright if draining takes too long."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        wait([parent.sentinel])
        os.kill(os.getpid(), signal.SIGTERM)  # uvicorn drains; the lifespan leaves the group
        time.sleep(_ORPHAN_GRACE_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _worker(settings_json: str, sockets: list[socket.socket]) -> None:
    _exit_with_parent()
    _run(RegistrySettings.model_validate_json(settings_json), sockets)


def _on_port(url: str, port: int) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, f"{parts.hostname}:{port}", parts.path, "", ""))


def serve(settings: RegistrySettings) -> None:
    public = _bind(settings.host, settings.port)
    settings = settings.model_copy(update={"port": public.getsockname()[1]})
    if settings.workers == 1:
        _run(settings, [public])
        return
    _configure_logging(settings)
    context = multiprocessing.get_context("spawn")
    processes: list[BaseProcess] = []
    for _ in range(settings.workers):
        private = _bind(settings.host, 0)
        own = settings.model_copy(
            update={"advertised_url": _on_port(settings.own_url(), private.getsockname()[1])}
        )
        processes.append(
            context.Process(target=_worker, args=(own.model_dump_json(), [public, private]))
        )
    for process in processes:
        process.start()
    log.info("registry on %s:%d with %d workers", settings.host, settings.port, len(processes))

    def terminate_all() -> None:
        for process in processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn drains, the lifespan closes Kafka
        deadline = time.monotonic() + _ORPHAN_GRACE_SECONDS * 2
        for process in processes:
            process.join(max(deadline - time.monotonic(), 0.1))
            if process.is_alive():
                process.kill()
                process.join()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        terminate_all()
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # A worker that dies takes the server down rather than leaving it half served.
    wait([p.sentinel for p in processes])
    terminate_all()
    sys.exit(0 if all(p.exitcode == 0 for p in processes) else 1)
