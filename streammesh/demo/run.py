"""The whole mesh on one machine: Kafka, the registry with per-domain credentials, every
product applied, the domains' generators, the CLTV processor, the quality monitor and, if its
binary is there, Prometheus; a live view until Ctrl-C or the given duration, then a summary."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from rich.console import Console
from rich.live import Live

from streammesh.broker import BrokerSettings, LocalBroker
from streammesh.demo import credentials
from streammesh.demo.observe import Observer, Snapshot
from streammesh.demo.supervisor import DemoError, Part, Supervisor, python_module
from streammesh.demo.view import render, summary
from streammesh.products.loader import iter_descriptor_files, load_descriptor
from streammesh.security import KafkaSecurity

REGISTRY_PORT, MONITOR_PORT, CLTV_PORT, PROMETHEUS_PORT = 8081, 8090, 6066, 9090


@dataclass(frozen=True)
class DemoOptions:
    root: Path  # the checkout: domains/, schemas/, deploy/
    state_dir: Path
    duration: float | None = None
    rate: float = 20.0
    customers: int = 200
    bad_ratio: float = 0.02
    # How the demo's own view reads Kafka (STREAMMESH_SECURITY_PROTOCOL, STREAMMESH_SASL_*);
    # the parts it starts read the same variables from the environment they inherit.
    kafka_security: KafkaSecurity = field(default_factory=KafkaSecurity)


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@contextmanager
def _kafka(options: DemoOptions, say: Console) -> Iterator[str]:
    external = os.environ.get("STREAMMESH_BOOTSTRAP_SERVERS")
    if external:
        say.print(f"Using the Kafka at {external} (STREAMMESH_BOOTSTRAP_SERVERS)")
        yield external
        return
    broker = LocalBroker(BrokerSettings(state_dir=options.state_dir / "broker"))
    status = broker.start()
    say.print(f"  Kafka running at {status.bootstrap_servers}")
    try:
        assert status.bootstrap_servers is not None
        yield status.bootstrap_servers
    finally:
        broker.stop()
        say.print("  stopped Kafka")


def _prometheus_config(options: DemoOptions) -> Path:
    rules = options.root / "deploy/prometheus/rules"
    config = options.state_dir / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 5s, evaluation_interval: 5s}\n"
        f"rule_files: ['{rules}/*.yml']\n"
        "scrape_configs:\n"
        "  - job_name: quality_monitor\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{MONITOR_PORT}']}}]\n"
    )
    return config


def _parts(options: DemoOptions, bootstrap: str, users: Path, creds: dict[str, str]) -> list[Part]:
    registry = f"http://127.0.0.1:{REGISTRY_PORT}"
    mesh = {"STREAMMESH_BOOTSTRAP_SERVERS": bootstrap, "STREAMMESH_REGISTRY_URL": registry}

    def as_user(name: str) -> dict[str, str]:
        return {**mesh, "STREAMMESH_REGISTRY_USER_INFO": creds[name]}

    common = ["--bootstrap-servers", bootstrap, "--registry-url", registry]
    parts = [
        Part(
            "registry",
            python_module("services.registry"),
            {
                "STREAMMESH_REGISTRY_PORT": str(REGISTRY_PORT),
                "STREAMMESH_REGISTRY_BOOTSTRAP_SERVERS": bootstrap,
                "STREAMMESH_REGISTRY_AUTH_FILE": str(users),
            },
            ready_url=f"{registry}/health",
        ),
        Part(
            "customers-generator",
            python_module(
                "domains.customers.generator",
                *common,
                "--customers",
                str(options.customers),
                "--changes",
                str(options.customers * 10),
                "--rate",
                str(max(options.rate / 4, 1.0)),
                "--live",
            ),
            as_user("customers"),
        ),
        Part(
            "sales-generator",
            python_module(
                "domains.sales.generator",
                *common,
                "--customers",
                str(options.customers),
                "--rate",
                str(options.rate),
                "--bad-ratio",
                str(options.bad_ratio),
                "--duplicate-ratio",
                "0.01",
                "--live",
            ),
            as_user("sales"),
        ),
        Part(
            "cltv-processor",
            python_module("domains.marketing.cltv"),
            {
                **as_user("marketing"),
                "STREAMMESH_CLTV_BOOTSTRAP_SERVERS": bootstrap,
                "STREAMMESH_CLTV_REGISTRY_URL": registry,
                "STREAMMESH_CLTV_REGISTRY_USER_INFO": creds["marketing"],
                "STREAMMESH_CLTV_WEB_PORT": str(CLTV_PORT),
                "STREAMMESH_CLTV_DATA_DIR": str(options.state_dir / "cltv"),
            },
        ),
        Part(
            "quality-monitor",
            python_module("services.quality_monitor"),
            {
                "STREAMMESH_MONITOR_PORT": str(MONITOR_PORT),
                "STREAMMESH_MONITOR_BOOTSTRAP_SERVERS": bootstrap,
                "STREAMMESH_MONITOR_REGISTRY_URL": registry,
                "STREAMMESH_MONITOR_REGISTRY_USERNAME": "monitor",
                "STREAMMESH_MONITOR_REGISTRY_PASSWORD": creds["monitor"].split(":", 1)[1],
            },
            ready_url=f"http://127.0.0.1:{MONITOR_PORT}/metrics",
        ),
    ]
    prometheus = shutil.which("prometheus")
    if prometheus:
        parts.append(
            Part(
                "prometheus",
                [
                    prometheus,
                    f"--config.file={_prometheus_config(options)}",
                    f"--storage.tsdb.path={options.state_dir / 'prometheus'}",
                    f"--web.listen-address=127.0.0.1:{PROMETHEUS_PORT}",
                ],
                ready_url=f"http://127.0.0.1:{PROMETHEUS_PORT}/-/ready",
            )
        )
    return parts


def _apply_products(options: DemoOptions, bootstrap: str, admin: str, say: Console) -> None:
    env = {
        **os.environ,
        "STREAMMESH_BOOTSTRAP_SERVERS": bootstrap,
        "STREAMMESH_REGISTRY_URL": f"http://127.0.0.1:{REGISTRY_PORT}",
        "STREAMMESH_REGISTRY_USER_INFO": admin,
    }
    cmd = [sys.executable, "-m", "streammesh", "product", "apply", "domains"]
    done = subprocess.run(
        cmd, cwd=options.root, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise DemoError(f"applying the products failed:\n{done.stdout}\n{done.stderr}")
    say.print("  applied every product in domains/")


def run_demo(options: DemoOptions) -> int:
    say = Console()
    taken = [p for p in (REGISTRY_PORT, MONITOR_PORT, CLTV_PORT) if not _port_free(p)]
    if taken:
        raise DemoError(f"ports {taken} are taken: stop what uses them (an earlier demo?)")
    options.state_dir.mkdir(parents=True, exist_ok=True)
    users, creds = credentials.generate(options.state_dir / "auth")
    say.print(f"Starting StreamMesh (state and logs in {options.state_dir})")
    stopping = False

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous_handlers = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    supervisor = Supervisor(options.state_dir / "logs", on_event=say.print)
    started = time.monotonic()
    try:
        with _kafka(options, say) as bootstrap:
            parts = _parts(options, bootstrap, users, creds)
            supervisor.start(parts[0])
            _apply_products(options, bootstrap, creds["admin"], say)
            for part in parts[1:]:
                supervisor.start(part)
            topics = [
                load_descriptor(path).topic.name for path in iter_descriptor_files(options.root)
            ]
            urls = {
                "registry": f"http://127.0.0.1:{REGISTRY_PORT}",
                "catalog": f"http://127.0.0.1:{REGISTRY_PORT}/ui",
                "metrics": f"http://127.0.0.1:{MONITOR_PORT}/metrics",
                "cltv": f"http://127.0.0.1:{CLTV_PORT}/cltv/customers/<customer_id>",
            }
            if any(p.name == "prometheus" for p in parts):
                urls["prometheus"] = f"http://127.0.0.1:{PROMETHEUS_PORT}"
            say.print("\n".join(f"  {name}: {url}" for name, url in urls.items()))
            say.print(f"  credentials: {options.state_dir / 'auth' / 'credentials.txt'}")
            observer = Observer(
                bootstrap,
                urls["registry"],
                creds["monitor"],
                f"http://127.0.0.1:{MONITOR_PORT}",
                topics,
                options.kafka_security,
            )
            observer.start()
            try:
                try:
                    last = _watch(observer, supervisor, options, urls, started, lambda: stopping)
                finally:
                    observer.close()
            finally:
                say.print("Stopping StreamMesh")
                supervisor.stop_all()  # before Kafka stops, so each part shuts down cleanly
            lines, ok = summary(last, time.monotonic() - started)
            for line in lines:
                print(line)
            return 0 if ok else 1
    finally:
        supervisor.stop_all()  # a start that failed half-way
        for sig, handler in previous_handlers.items():
            signal.signal(sig, handler)


def _watch(
    observer: Observer,
    supervisor: Supervisor,
    options: DemoOptions,
    urls: dict[str, str],
    started: float,
    stopping: Callable[[], bool],
) -> Snapshot:
    now = observer.snapshot()
    # A live view on a terminal; a bounded, logged run (DURATION=...) prints only the summary.
    live = Live(render(None, now, urls), refresh_per_second=1) if sys.stdout.isatty() else None
    if live is not None:
        live.start()
    try:
        while not stopping():
            if options.duration is not None and time.monotonic() - started >= options.duration:
                break
            dead = supervisor.dead()
            if dead:
                raise DemoError(f"{', '.join(dead)} stopped unexpectedly; see {supervisor.logs}")
            time.sleep(2)
            previous, now = now, observer.snapshot()
            if live is not None:
                live.update(render(previous, now, urls))
    finally:
        if live is not None:
            live.stop()
    return now
