"""Registry benchmark: requests/s and p50/p99 of the hot endpoints, beside a same-run floor.

The floor is the same server stack (uvicorn, FastAPI, the registry's wire middleware, the same
worker model) answering a constant JSON body of the same size, so the ratio shows what the
registry itself costs. Requests the registry answers ahead of FastAPI (cached reads, lookups,
re-registrations) are compared with a constant answered at that same place.
Load comes from `wrk` (install: `apt-get install wrk`), a separate native process, with 1 and
32 concurrent connections. Kafka is the project's own broker, or the cluster named by
STREAMMESH_BOOTSTRAP_SERVERS.

    python -m bench.registry [--seconds 8] [--workers 1 2]
"""

from __future__ import annotations

import argparse
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

import httpx
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from streammesh.broker.launcher import free_port
from streammesh.testing.kafka import kafka_for_tests

SCHEMAS = 100
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


def schema_text(n: int) -> str:
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
    from services.registry.api.wire import RegistryJSONResponse, WireMiddleware  # noqa: PLC0415
    from services.registry.app import RegistryApp  # noqa: PLC0415

    app = RegistryApp(default_response_class=RegistryJSONResponse)
    body = {"schema": schema_text(1), "guid": str(uuid.uuid4())}
    app.early = ConstantAnswers(json.dumps(body, separators=(",", ":")).encode())

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "UP"}

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
    threads = 1 if connections == 1 else 2
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url]
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


@dataclass(frozen=True)
class Case:
    name: str
    path: str
    lua: str | None
    floor_lua: str | None


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


def cases() -> list[Case]:
    body = post_lua(json.dumps({"schema": schema_text(7)}))
    return [
        Case("GET /schemas/ids/{id}", "/schemas/ids/1", ids_lua(SCHEMAS), None),
        Case("POST /subjects/{s} lookup", "/subjects/bench-7-value", body, body),
        Case("POST .../versions existing", "/subjects/bench-7-value/versions", body, body),
    ]


@contextlib.contextmanager
def process(cmd: list[str], env: dict[str, str], health: str) -> Iterator[None]:
    proc = subprocess.Popen(
        cmd, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{cmd} exited: {proc.stderr.read().decode() if proc.stderr else ''}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(health, timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{cmd} did not become healthy")
            time.sleep(0.1)
        yield
    finally:
        proc.terminate()
        proc.wait(30)


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
            with httpx.Client(base_url=base, timeout=30) as client:
                for n in range(1, SCHEMAS + 1):
                    subject = f"/subjects/bench-{n}-value/versions"
                    client.post(subject, json={"schema": schema_text(n)}).raise_for_status()
            for case in (c for c in cases() if only in c.name):
                for clients in (1, 32):
                    wrk(base + case.path, clients, 1, case.lua)  # warm-up
                    ours = wrk(base + case.path, clients, seconds, case.lua)
                    baseline = wrk(f"{floor}/cached", clients, seconds, case.floor_lua)
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
        "floor = the same stack answering a constant body"
    )
    with tempfile.TemporaryDirectory() as state, kafka_for_tests(Path(state)) as kafka:
        rows = run(args.seconds, args.workers, kafka.bootstrap_servers, args.only)
    for row in rows:
        if row.case.startswith("GET") and row.clients == 32:
            print(
                f"goals, id lookup, {row.workers} worker(s), 32 clients: "
                f"ratio {row.ratio:.2f} (>= 0.7), p99 {row.ours.p99_ms:.2f} ms (< 5), "
                f"{row.ours.requests_per_second:.0f}/s (>= 6000 at one worker per core)"
            )


if __name__ == "__main__":
    main()
