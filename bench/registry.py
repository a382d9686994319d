"""Registry benchmark: requests/s and p50/p99 of the hot endpoints and of new registrations,
beside a same-run floor.

The floor is the same server stack (uvicorn, FastAPI, the registry's wire middleware, the same
worker model) answering a constant JSON body of the same size, so the ratio shows what the
registry itself costs. Requests the registry answers ahead of FastAPI (cached reads, lookups,
re-registrations) are compared with a constant answered at that same place; new registrations
with a FastAPI route that parses the same request model and answers a constant id.
Load comes from `wrk` (install: `apt-get install wrk`), a separate native process, with 1 to
100 concurrent connections. Kafka is the project's own broker, or the cluster named by
STREAMMESH_BOOTSTRAP_SERVERS.

    python -m bench.registry [--seconds 8] [--workers 1 2] [--only new]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
from fastapi import APIRouter, FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from streammesh.broker.launcher import free_port
from streammesh.testing.kafka import kafka_for_tests

SCHEMAS = 1000
#: New registrations are posted by this many clients at once while the bench sets up.
PRELOAD_CLIENTS = 16
SCHEMA_TEMPLATE = {
    "type": "record",
    "name": "Order",
    "namespace": "bench",
    "fields": [
        {"name": "order_id", "type": "string"},
        {"name": "customer_id", "type": "string"},
        {
            "name": "amount",
            "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2},
        },
        {"name": "currency", "type": "string"},
        {"name": "event_time", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    ],
}


def schema_text(n: int | str) -> str:
    schema = json.loads(json.dumps(SCHEMA_TEMPLATE))
    schema["fields"].append({"name": f"extra_{n}", "type": ["null", "string"], "default": None})
    return json.dumps(schema)


class ConstantAnswers:
    """The floor of the requests the registry answers ahead of FastAPI: answered at that same
    place (a POST's body read and parsed too), but constant."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> None:
        from services.registry.api.wire import requested_media  # noqa: PLC0415

        media = requested_media(scope) if scope["type"] == "http" else None
        if media is None or scope["path"] != "/cached":
            await app(scope, receive, send)
            return
        body = self.body
        if scope["method"] == "POST":
            request = b""
            while True:
                message = await receive()
                request += message.get("body", b"")
                if not message.get("more_body"):
                    break
            json.loads(request)
            body = b'{"id":1}'
        headers = [
            (b"content-length", str(len(body)).encode()),
            (b"content-type", media.encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def baseline_app() -> FastAPI:
    """The floor: the registry's stack answering constant bodies shaped like its answers."""
    from services.registry.api.subjects import SchemaRequest  # noqa: PLC0415
    from services.registry.api.wire import (  # noqa: PLC0415
        RegistryJSONResponse,
        RegistryRoute,
        WireMiddleware,
    )
    from services.registry.app import RegistryApp  # noqa: PLC0415
    from services.registry.models import SchemaId  # noqa: PLC0415

    app = RegistryApp(default_response_class=RegistryJSONResponse)
    body = {"schema": schema_text(1), "guid": str(uuid.uuid4())}
    app.early = ConstantAnswers(json.dumps(body, separators=(",", ":")).encode())

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "UP"}

    # A new registration's floor: the registry's route class and request model, no write.
    subjects = APIRouter(prefix="/subjects", route_class=RegistryRoute)

    @subjects.post("/{subject}/versions", response_model=SchemaId)
    async def register(subject: str, body: SchemaRequest) -> SchemaId:
        return SchemaId(id=SCHEMAS)

    app.include_router(subjects)
    app.add_middleware(WireMiddleware)
    return app


@dataclass(frozen=True)
class Result:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, connections: int, seconds: int, lua: str | None = None) -> Result:
    """One wrk run; its script's ``init(args)`` gets a tag of its own as ``args[1]``, so the
    requests of every run can differ from those of the runs before."""
    threads = 1 if connections == 1 else 2
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    cmd += ["--", uuid.uuid4().hex[:8]]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        if lua:
            script.write(lua)
            cmd[1:1] = ["-s", script.name]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(script.name)

    def latency(percent: str) -> float:
        match = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        assert match, out
        return float(match.group(1)) * _UNITS[match.group(2)]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert rps, out
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    errors = int(non2xx.group(1)) if non2xx else 0
    if socket_errors:
        errors += sum(int(g) for g in socket_errors.groups())
    return Result(float(rps.group(1)), latency("50"), latency("99"), errors)


def post_lua(body: str) -> str:
    return (
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/vnd.schemaregistry.v1+json"\n'
        f"wrk.body = {json.dumps(body)}\n"
    )


def ids_lua(count: int) -> str:
    # Spread the reads over every registered id, as many producers' consumers would.
    return (
        "request = function()\n"
        f'  return wrk.format("GET", "/schemas/ids/" .. math.random(1, {count}))\n'
        "end\n"
    )


def new_schemas_lua() -> str:
    """Every request registers a schema never registered before, as version 1 of a subject
    of its own: a new topic's producer, which has no history to be checked against. The
    field and the subject are named after the run's tag, the wrk thread and a counter."""
    marker = "@NAME@"
    prefix, suffix = json.dumps({"schema": schema_text(marker)}).split(marker)
    return (
        "local threads = 0\n"
        "function setup(thread)\n"
        "  threads = threads + 1\n"
        '  thread:set("tid", threads)\n'
        "end\n"
        "local run, n = nil, 0\n"
        "function init(args) run = args[1] end\n"
        'local headers = {["Content-Type"] = "application/vnd.schemaregistry.v1+json"}\n'
        "function request()\n"
        "  n = n + 1\n"
        '  local name = run .. "_" .. tid .. "_" .. n\n'
        '  local path = "/subjects/new-" .. name .. "-value/versions"\n'
        f'  return wrk.format("POST", path, headers, {json.dumps(prefix)} .. name .. '
        f"{json.dumps(suffix)})\n"
        "end\n"
    )


@dataclass(frozen=True)
class Case:
    name: str
    path: str
    lua: str | None
    floor_lua: str | None
    clients: tuple[int, ...] = (1, 32)
    floor_path: str = "/cached"


@dataclass(frozen=True)
class Row:
    case: str
    workers: int
    clients: int
    ours: Result
    floor: Result

    @property
    def ratio(self) -> float:
        return self.ours.requests_per_second / self.floor.requests_per_second

    def __str__(self) -> str:
        o, f = self.ours, self.floor
        return (
            f"{self.case:<28} w={self.workers} c={self.clients:>2} "
            f"{o.requests_per_second:>7.0f}/s p50 {o.p50_ms:>5.2f} p99 {o.p99_ms:>6.2f} ms | "
            f"floor {f.requests_per_second:>7.0f}/s p99 {f.p99_ms:>6.2f} ms | "
            f"ratio {self.ratio:.2f} errors {o.errors}"
        )


NEW = "POST .../versions new"


def cases() -> list[Case]:
    body = post_lua(json.dumps({"schema": schema_text(7)}))
    new = new_schemas_lua()
    return [
        Case("GET /schemas/ids/{id}", "/schemas/ids/1", ids_lua(SCHEMAS), None, (1, 32, 100)),
        Case("POST /subjects/{s} lookup", "/subjects/bench-7-value", body, body),
        Case("POST .../versions existing", "/subjects/bench-7-value/versions", body, body),
        # The script names each request's path; the floor answers it with a FastAPI route.
        Case(NEW, "/", new, new, (1, 16), floor_path="/"),
    ]


@contextlib.contextmanager
def process(cmd: list[str], env: dict[str, str], health: str) -> Iterator[None]:
    # Logs go to a file, not a pipe: an unread pipe that fills up would stall the server.
    with tempfile.TemporaryFile() as logs:
        proc = subprocess.Popen(
            cmd, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=logs
        )
        try:
            wait_healthy(proc, cmd, health, logs)
            yield
        finally:
            proc.terminate()
            proc.wait(30)


def wait_healthy(
    proc: subprocess.Popen[bytes], cmd: list[str], health: str, logs: IO[bytes]
) -> None:
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            logs.seek(0)
            tail = logs.read()[-4000:].decode(errors="replace")
            raise RuntimeError(f"{cmd} exited ({proc.returncode}): {tail}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(health, timeout=1).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{cmd} did not become healthy")
        time.sleep(0.1)


async def preload(base: str, count: int) -> None:
    """Register ``count`` schemas, ids 1 to ``count`` on a fresh log, a few clients at once."""
    numbers = iter(range(1, count + 1))
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:

        async def register() -> None:
            for n in numbers:  # shared: each number is taken by one client
                subject = f"/subjects/bench-{n}-value/versions"
                answer = await client.post(subject, json={"schema": schema_text(n)})
                answer.raise_for_status()

        await asyncio.gather(*(register() for _ in range(PRELOAD_CLIENTS)))
        (await client.get(f"/schemas/ids/{count}")).raise_for_status()


def run(seconds: int, worker_counts: list[int], bootstrap: str, only: str = "") -> list[Row]:
    rows: list[Row] = []
    for workers in worker_counts:
        reg_port, floor_port = free_port(), free_port()
        reg_env = {
            "STREAMMESH_REGISTRY_PORT": str(reg_port),
            "STREAMMESH_REGISTRY_WORKERS": str(workers),
            "STREAMMESH_REGISTRY_BOOTSTRAP_SERVERS": bootstrap,
            "STREAMMESH_REGISTRY_TOPIC": f"_streammesh.bench.{uuid.uuid4().hex[:8]}",
            "STREAMMESH_REGISTRY_LOG_LEVEL": "warning",
            "STREAMMESH_REGISTRY_AUTH_ENABLED": "false",  # measures the registry, not PBKDF2
        }
        base = f"http://127.0.0.1:{reg_port}"
        floor = f"http://127.0.0.1:{floor_port}"
        floor_cmd = [
            sys.executable, "-m", "uvicorn", "bench.registry:baseline_app", "--factory",
            "--port", str(floor_port), "--workers", str(workers), "--log-level", "warning",
            "--no-access-log",
        ]  # fmt: skip
        with (
            process([sys.executable, "-m", "services.registry"], reg_env, f"{base}/health"),
            process(floor_cmd, {}, f"{floor}/health"),
        ):
            asyncio.run(preload(base, SCHEMAS))
            for case in (c for c in cases() if only in c.name):
                for clients in case.clients:
                    wrk(base + case.path, clients, 1, case.lua)  # warm-up
                    ours = wrk(base + case.path, clients, seconds, case.lua)
                    baseline = wrk(floor + case.floor_path, clients, seconds, case.floor_lua)
                    rows.append(Row(case.name, workers, clients, ours, baseline))
                    print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--only", default="", help="run the cases whose name contains this")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench.registry needs wrk (apt-get install wrk)")
    print(
        f"registry: {SCHEMAS} schemas, {args.seconds}s per run, load from wrk; "
        "floor = the same stack answering a constant body; "
        "new registrations: each one a new subject's first version"
    )
    with tempfile.TemporaryDirectory() as state, kafka_for_tests(Path(state)) as kafka:
        rows = run(args.seconds, args.workers, kafka.bootstrap_servers, args.only)
    for line in (line for row in rows for line in goals(row)):
        print(line)


def goals(row: Row) -> list[str]:
    """The absolute figures the registry aims at, for the rows that have one."""
    o, where = row.ours, f"{row.workers} worker(s), {row.clients} clients"
    if row.case.startswith("GET") and row.clients == 32:
        return [
            f"goals, id lookup, {where}: ratio {row.ratio:.2f} (>= 0.7), "
            f"p99 {o.p99_ms:.2f} ms (< 5), "
            f"{o.requests_per_second:.0f}/s (>= 6000 at one worker per core)"
        ]
    if row.case == NEW and row.clients == 1:
        return [f"goals, new registration, {where}: p50 {o.p50_ms:.2f} ms (<= 10; ~100 before)"]
    if row.case == NEW and row.clients == 16:
        return [
            f"goals, new registrations, {where}: {o.requests_per_second:.0f}/s "
            f"(>= 1500; 9.9 before), errors {o.errors} (0)"
        ]
    return []


if __name__ == "__main__":
    main()
