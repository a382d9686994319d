"""Resolve, format, start, watch and stop a single-node KRaft Kafka broker.

The jars come from Maven Central through the pom beside this module and are cached per
version, so only the first start needs the network. State (data, logs, pid, ports) lives
under ``state_dir`` so a later ``stop``/``status`` from another process finds the broker.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from streammesh.access.secrets import new_password, write_secret
from streammesh.broker.errors import (
    USE_EXISTING,
    BrokerError,
    BrokerStartError,
    JavaNotFoundError,
    JavaTooOldError,
    MavenNotFoundError,
    MavenUnreachableError,
    PortInUseError,
)
from streammesh.broker.security import (
    BrokerSecurity,
    Tls,
    admin_security,
    listener_properties,
    make_tls,
    scram_format_argument,
)
from streammesh.broker.settings import BrokerSettings
from streammesh.security import KafkaSecurity, kafka_client_config

MIN_JAVA = 17
_UNREACHABLE = re.compile(
    r"Could not transfer|Unknown host|UnknownHostException|Connection refused|"
    r"Connect to .* failed|Network is unreachable|timed out|Could not resolve dependencies",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class BrokerStatus:
    running: bool
    pid: int | None
    port: int | None
    controller_port: int | None
    state_dir: str
    security: BrokerSecurity | None = None

    @property
    def bootstrap_servers(self) -> str | None:
        return None if self.port is None else f"127.0.0.1:{self.port}"


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS says is free now (tests bind the broker to it right after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def new_cluster_id() -> str:
    """16 random bytes, url-safe base64 without padding, never starting with '-' (Kafka's rule)."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


class LocalBroker:
    """One broker per ``state_dir``; every method can be called from a fresh process."""

    def __init__(self, settings: BrokerSettings | None = None) -> None:
        self.settings = settings or BrokerSettings()
        self.state_dir = self.settings.state_dir.expanduser().resolve()
        self.libs_dir = (
            self.settings.cache_dir.expanduser().resolve() / self.settings.kafka_version / "libs"
        )
        self.data_dir = self.state_dir / "data"
        self.logs_dir = self.state_dir / "logs"
        self.pid_file = self.state_dir / "broker.pid"
        self.ports_file = self.state_dir / "ports.json"
        self.config_file = self.state_dir / "server.properties"
        self.log_file = self.logs_dir / "server.log"
        self.stdout_file = self.logs_dir / "stdout.log"
        #: Denied (and, at DEBUG, allowed) requests, as StandardAuthorizer logs them.
        self.authorizer_log_file = self.logs_dir / "kafka-authorizer.log"
        self.secrets_dir = self.state_dir / "secrets"
        self.admin_password_file = self.secrets_dir / f"{self.settings.admin_user}.password"
        self.tls_dir = self.state_dir / "tls"
        self._process: subprocess.Popen[bytes] | None = None  # set when this object started it

    # -- prerequisites ---------------------------------------------------------------------

    def check_java(self) -> str:
        java = shutil.which(self.settings.java)
        if java is None:
            raise JavaNotFoundError(
                f"No '{self.settings.java}' on PATH: install Java {MIN_JAVA} or newer "
                f"(e.g. apt install openjdk-17-jre-headless). {USE_EXISTING}"
            )
        out = subprocess.run(
            [java, "-version"], capture_output=True, text=True, check=False, timeout=60
        )
        match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
        if match is None:
            raise JavaNotFoundError(f"Could not read the version of {java}: {out.stderr.strip()}")
        major = int(match.group(1))
        if major == 1 and match.group(2):  # "1.8.0_x" style
            major = int(match.group(2))
        if major < MIN_JAVA:
            raise JavaTooOldError(
                f"{java} is Java {major}; Kafka {self.settings.kafka_version} needs Java "
                f"{MIN_JAVA} or newer (set STREAMMESH_BROKER_JAVA to one). {USE_EXISTING}"
            )
        return java

    def jars_cached(self) -> bool:
        return (self.libs_dir / ".complete").exists()

    def resolve_jars(self) -> Path:
        """Copy Kafka's runtime classpath from Maven into the cache (once per version)."""
        if self.jars_cached():
            return self.libs_dir
        mvn = shutil.which(self.settings.maven)
        if mvn is None:
            raise MavenNotFoundError(
                f"No '{self.settings.maven}' on PATH: install Apache Maven (apt install maven) "
                f"to fetch Kafka {self.settings.kafka_version} once. {USE_EXISTING}"
            )
        self.libs_dir.parent.mkdir(parents=True, exist_ok=True)
        pom = resources.files("streammesh.broker").joinpath("pom.xml")
        with tempfile.TemporaryDirectory(dir=self.libs_dir.parent) as tmp:
            staging = Path(tmp) / "libs"
            with resources.as_file(pom) as pom_path:
                proc = subprocess.run(
                    [
                        mvn,
                        "-B",
                        "-q",
                        "-f",
                        str(pom_path),
                        "dependency:copy-dependencies",
                        "-DincludeScope=runtime",
                        f"-Dkafka.version={self.settings.kafka_version}",
                        f"-Dlog4j.version={self.settings.log4j_version}",
                        f"-DoutputDirectory={staging}",
                    ],
                    capture_output=True,
                    text=True,
                    check=False,
                    timeout=900,
                )
            if proc.returncode != 0:
                output = (proc.stdout + proc.stderr).strip()
                if _UNREACHABLE.search(output):
                    raise MavenUnreachableError(
                        f"Could not download Kafka {self.settings.kafka_version} from Maven "
                        f"Central (is the network or a Maven mirror reachable?). {USE_EXISTING}\n"
                        f"{output[-2000:]}"
                    )
                raise BrokerError(f"mvn failed to resolve Kafka's jars:\n{output[-2000:]}")
            (staging / ".complete").write_text(self.settings.kafka_version)
            if self.libs_dir.exists():  # a half-copied folder from an interrupted run
                shutil.rmtree(self.libs_dir)
            staging.rename(self.libs_dir)
        return self.libs_dir

    # -- state -----------------------------------------------------------------------------

    def _read_pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None
        # A recycled pid must never be signalled: check it is our broker.
        if b"kafka.Kafka" not in cmdline or str(self.config_file).encode() not in cmdline:
            return None
        return pid

    def _read_ports(self) -> tuple[int, int] | None:
        try:
            ports = json.loads(self.ports_file.read_text())
            return int(ports["port"]), int(ports["controller_port"])
        except (FileNotFoundError, ValueError, KeyError):
            return None

    def _read_security(self) -> BrokerSecurity | None:
        try:
            return BrokerSecurity(json.loads(self.ports_file.read_text())["security"])
        except (FileNotFoundError, ValueError, KeyError):
            return None

    def status(self) -> BrokerStatus:
        pid = self._read_pid()
        ports = self._read_ports()
        return BrokerStatus(
            running=pid is not None,
            pid=pid,
            port=ports[0] if ports else None,
            controller_port=ports[1] if ports else None,
            state_dir=str(self.state_dir),
            security=self._read_security(),
        )

    def admin_security(self) -> KafkaSecurity:
        """How the platform admin connects to this broker (as it was last started)."""
        security = self._read_security() or self.settings.security
        ca = self.tls_dir / "ca.pem" if security is BrokerSecurity.SASL_SSL else None
        return admin_security(security, self.settings.admin_user, self.admin_password_file, ca)

    def _choose_ports(self) -> tuple[int, int]:
        """Configured ports; 0 means a free one, reused on restart so clients keep working."""
        previous = self._read_ports()
        host = self.settings.host
        port, cport = self.settings.port, self.settings.controller_port
        if port == 0:
            port = previous[0] if previous and port_is_free(host, previous[0]) else free_port(host)
        if cport == 0:
            cport = previous[1] if previous and port_is_free(host, previous[1]) else free_port(host)
            while cport == port:
                cport = free_port(host)
        for what, number in (("client", port), ("controller", cport)):
            if not port_is_free(host, number):
                raise PortInUseError(
                    f"The {what} port {host}:{number} is taken. Stop what uses it, or pick "
                    f"another with STREAMMESH_BROKER_PORT / STREAMMESH_BROKER_CONTROLLER_PORT "
                    f"(0 takes a free one). {USE_EXISTING}"
                )
        return port, cport

    def _admin_password(self) -> str | None:
        """The admin's password on a SASL broker: made with the storage, kept since. A folder
        formatted without one has no SCRAM user to sign in with."""
        if self.settings.security is BrokerSecurity.PLAINTEXT:
            return None
        if self.admin_password_file.exists():
            return self.admin_password_file.read_text(encoding="utf-8").strip()
        if (self.data_dir / "meta.properties").exists():
            raise BrokerStartError(
                f"{self.state_dir} was formatted without SCRAM users, so a "
                f"{self.settings.security.value} broker cannot start on it: choose a fresh "
                "STREAMMESH_BROKER_STATE_DIR (or stop and delete this one)."
            )
        password = new_password()
        write_secret(self.admin_password_file, password)
        return password

    def _write_config(self, port: int, cport: int, password: str | None, tls: Tls | None) -> None:
        host = self.settings.host
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{host}:{cport}",
            "controller.listener.names": "CONTROLLER",
            **listener_properties(
                self.settings.security,
                host=host,
                port=port,
                controller_port=cport,
                admin_user=self.settings.admin_user,
                admin_password=password,
                tls=tls,
            ),
            "log.dirs": str(self.data_dir),
            "num.partitions": "1",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            # One node: the defaults of 3 would make groups and transactions fail.
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "4",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "4",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": str(self.settings.auto_create_topics).lower(),
        }
        # It holds the admin's password on a SASL broker.
        write_secret(self.config_file, "".join(f"{k}={v}\n" for k, v in props.items()))
        self.ports_file.write_text(
            json.dumps(
                {"port": port, "controller_port": cport, "security": self.settings.security.value}
            )
        )

    def _java_cmd(self, java: str, main: str, *args: str) -> list[str]:
        log4j = resources.files("streammesh.broker").joinpath("log4j2.properties")
        return [
            java,
            f"-Xmx{self.settings.heap}",
            "-Xms128m",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={log4j}",
            f"-Dkafka.logs.dir={self.logs_dir}",
            "-cp",
            f"{self.libs_dir}/*",
            main,
            *args,
        ]

    def _format_storage(self, java: str, password: str | None) -> None:
        if (self.data_dir / "meta.properties").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        scram = []
        if password is not None:
            scram = ["--add-scram", scram_format_argument(self.settings.admin_user, password)]
        cmd = self._java_cmd(
            java,
            "kafka.tools.StorageTool",
            "format",
            "-t",
            new_cluster_id(),
            "-c",
            str(self.config_file),
            *scram,
        )
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)
        if proc.returncode != 0:
            raise BrokerStartError(f"Formatting the KRaft storage failed:\n{proc.stderr.strip()}")

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> BrokerStatus:
        """Start the broker and return once it answers a metadata request."""
        current = self.status()
        if current.running:
            return current
        java = self.check_java()
        self.resolve_jars()
        for folder in (self.state_dir, self.logs_dir, self.data_dir):
            folder.mkdir(parents=True, exist_ok=True)
        port, cport = self._choose_ports()
        password = self._admin_password()
        tls = None
        if self.settings.security is BrokerSecurity.SASL_SSL:
            tls = make_tls(self.tls_dir, java, self.settings.host)
        self._write_config(port, cport, password, tls)
        self._format_storage(java, password)
        with self.stdout_file.open("ab") as out:
            proc = subprocess.Popen(
                self._java_cmd(java, "kafka.Kafka", str(self.config_file)),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # outlives the CLI that started it
                cwd=self.state_dir,
            )
        self._process = proc
        self.pid_file.write_text(str(proc.pid))
        try:
            self._wait_ready(proc, port)
        except BaseException:
            self._terminate(proc.pid)
            self.pid_file.unlink(missing_ok=True)
            raise
        return self.status()

    def _wait_ready(self, proc: subprocess.Popen[bytes], port: int) -> None:
        deadline = time.monotonic() + self.settings.start_timeout_seconds
        admin = AdminClient(
            {
                **kafka_client_config(f"{self.settings.host}:{port}", self.admin_security()),
                "socket.connection.setup.timeout.ms": 1000,
                "reconnect.backoff.max.ms": 200,
            },
            logger=_QUIET,
        )
        while True:
            if proc.poll() is not None:
                raise BrokerStartError(
                    f"The broker exited with code {proc.returncode} while starting:\n"
                    f"{self.tail_log(40)}"
                )
            try:
                metadata = admin.list_topics(timeout=1.0)
            except KafkaException:  # until the broker answers
                metadata = None
            if metadata is not None and metadata.brokers:
                return
            if time.monotonic() > deadline:
                raise BrokerStartError(
                    f"The broker did not answer within {self.settings.start_timeout_seconds:.0f}s "
                    f"(STREAMMESH_BROKER_START_TIMEOUT_SECONDS):\n{self.tail_log(40)}"
                )

    def stop(self) -> bool:
        """SIGTERM (Kafka's clean shutdown), wait, then SIGKILL. False if it was not running."""
        pid = self._read_pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        self._terminate(pid)
        self.pid_file.unlink(missing_ok=True)
        return True

    def kill(self) -> None:
        """SIGKILL at once: a crash, for tests of recovery."""
        pid = self._read_pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid, 10.0)
            if self._process is not None:
                self._process.wait()
                self._process = None
            self.pid_file.unlink(missing_ok=True)

    def _terminate(self, pid: int) -> None:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        if not _wait_gone(pid, self.settings.stop_timeout_seconds):
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid, 10.0)
        if self._process is not None and self._process.pid == pid:
            self._process.wait()  # reaped above; this records its exit code
            self._process = None

    def tail_log(self, lines: int = 50) -> str:
        chunks: list[str] = []
        for path in (self.log_file, self.stdout_file):
            if path.exists():
                text = path.read_text(errors="replace").splitlines()[-lines:]
                chunks.append(f"--- {path} ---\n" + "\n".join(text))
        return "\n".join(chunks) or "(no log yet)"

    def status_dict(self) -> dict[str, object]:
        status = self.status()
        return {**asdict(status), "bootstrap_servers": status.bootstrap_servers}


# librdkafka complains on every refused connection while the broker is still starting.
_QUIET = logging.getLogger("streammesh.broker.readiness")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            # Reap it if it is our child; otherwise probe it with signal 0.
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done == pid:
                return True
        except ChildProcessError:
            pass
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False
