"""Serving the registry: one process, or several workers sharing one port.

With several workers (one per core in production) every worker replays the log and serves
reads from its own copy; worker 0 is the primary and also listens on a private loopback port,
to which the other workers forward writes. The public socket is bound once here and shared.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import sys
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType

import uvicorn

from services.registry.app import create_app
from services.registry.settings import RegistrySettings

log = logging.getLogger("services.registry")


def _configure_logging(settings: RegistrySettings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )


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


def _worker(settings_json: str, sockets: list[socket.socket]) -> None:
    _run(RegistrySettings.model_validate_json(settings_json), sockets)


def serve(settings: RegistrySettings) -> None:
    public = _bind(settings.host, settings.port)
    if settings.workers == 1:
        _run(settings, [public])
        return
    _configure_logging(settings)
    context = multiprocessing.get_context("spawn")
    processes: list[BaseProcess] = []
    if settings.primary_url is None:
        private = _bind("127.0.0.1", 0)
        primary_url = f"http://127.0.0.1:{private.getsockname()[1]}"
        processes.append(
            context.Process(target=_worker, args=(settings.model_dump_json(), [public, private]))
        )
        replicas = settings.model_copy(update={"primary_url": primary_url})
    else:  # this whole server is a replica of another
        replicas = settings
    while len(processes) < settings.workers:
        processes.append(
            context.Process(target=_worker, args=(replicas.model_dump_json(), [public]))
        )
    for process in processes:
        process.start()
    log.info("registry on %s:%d with %d workers", settings.host, settings.port, len(processes))

    def terminate_all() -> None:
        for process in processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn drains, the lifespan closes Kafka

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        terminate_all()
        for process in processes:
            process.join()
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # A worker that dies takes the server down rather than leaving it half served.
    wait([p.sentinel for p in processes])
    terminate_all()
    for process in processes:
        process.join()
    sys.exit(0 if all(p.exitcode == 0 for p in processes) else 1)
