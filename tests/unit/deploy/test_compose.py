"""docker-compose.yml can be trusted without a Docker engine: it is valid Compose, every image is
pinned, everything it mounts, builds and runs exists, the ports it publishes are the README's, the
processes that need Kafka or the registry wait for them, and the Prometheus and Grafana
configuration it mounts holds together."""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any, cast

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
SCHEMA_FILE = Path(__file__).with_name("data") / "compose-spec.json"
# A tag that names a release: 4.1.1, v2.53.5, 3.11.11-slim-bookworm.
PINNED_TAG = re.compile(r"^v?\d+\.\d+\.\d+([-.][A-Za-z0-9.-]+)?$")

Service = dict[str, Any]


def _load(path: Path) -> dict[str, Any]:
    return cast(dict[str, Any], yaml.safe_load(path.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _load(COMPOSE_FILE)


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Service]:
    return cast(dict[str, Service], compose["services"])


def _command(service: Service) -> list[str]:
    command = service.get("command", [])
    return command.split() if isinstance(command, str) else [str(part) for part in command]


def _environment(service: Service) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def _bind_mounts(service: Service) -> Iterator[tuple[Path, PurePosixPath]]:
    """(host path, container path) of every bind mount; named volumes are skipped."""
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith((".", "/")):
            yield (COMPOSE_FILE.parent / source).resolve(), PurePosixPath(target)


def _host_path(service: Service, container_path: str) -> Path | None:
    """The file on the host that a bind mount shows at `container_path` in the service."""
    wanted = PurePosixPath(container_path)
    for host, target in _bind_mounts(service):
        if wanted == target or target in wanted.parents:
            return host.joinpath(*wanted.relative_to(target).parts)
    return None


def _image_tag(image: str) -> str | None:
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def _waits_for(services: dict[str, Service], name: str, target: str) -> bool:
    """Whether `name` starts only once `target` is healthy or has completed, directly or
    through the services it waits for in the same way (`service_started` does not count)."""
    depends = services[name].get("depends_on", {})
    assert isinstance(depends, dict), f"{name}: depends_on needs conditions, not a list"
    return any(
        spec["condition"] in {"service_healthy", "service_completed_successfully"}
        and (other == target or _waits_for(services, other, target))
        for other, spec in depends.items()
    )


def test_docker_compose_config_accepts_the_file() -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker client on PATH")
    version = subprocess.run(
        [docker, "compose", "version"], capture_output=True, text=True, check=False, timeout=60
    )
    if version.returncode != 0:
        reason = (version.stderr.strip().splitlines() or ["no output"])[0]
        pytest.skip(f"`docker compose` does not work here: {reason}")
    done = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE_FILE), "config", "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def test_the_file_is_valid_against_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(compose)
    ]
    assert errors == []


def test_the_schema_rejects_what_compose_rejects(compose: dict[str, Any]) -> None:
    """The checked-in schema is strict enough to catch a misspelled key or a bad condition."""
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    registry = dict(compose["services"]["registry"])
    typo = {**compose, "services": {"registry": {**registry, "depends-on": ["kafka"]}}}
    condition = {"kafka": {"condition": "service_ready"}}
    bad = {**compose, "services": {"registry": {**registry, "depends_on": condition}}}
    for document in (typo, bad):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(document, schema)


def test_every_image_has_a_pinned_tag(services: dict[str, Service]) -> None:
    for name, service in services.items():
        image = service.get("image")
        assert image, f"{name}: no image (a built service names its image so it is built once)"
        tag = _image_tag(image)
        assert tag is not None, f"{name}: {image} has no tag"
        assert PINNED_TAG.match(tag), f"{name}: {image} is not pinned to a release"


def test_the_dockerfile_is_pinned_slim_and_runs_as_a_user() -> None:
    lines = [
        line.strip()
        for line in DOCKERFILE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    bases = [line.split()[1] for line in lines if line.startswith("FROM ")]
    assert bases, "no FROM"
    for base in bases:
        tag = _image_tag(base)
        assert tag is not None, f"{base} has no tag"
        assert PINNED_TAG.match(tag), f"{base} is not pinned to a release"
        assert "slim" in tag, f"{base} is not a slim image"
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users, "the image must not run as root"
    assert users[-1] not in {"root", "0"}, "the image must not run as root"
    text = "\n".join(lines)
    assert "pip install ." in text
    assert "[dev]" not in text, "dev tools do not belong in the image"


def test_everything_copied_into_the_image_exists() -> None:
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), f"Dockerfile copies a missing {source}"
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    copied = {"pyproject.toml", "README.md", "streammesh", "services", "domains", "schemas"}
    assert not copied & ignored, ".dockerignore hides what the Dockerfile copies"


def test_every_mounted_file_or_folder_exists(
    compose: dict[str, Any], services: dict[str, Service]
) -> None:
    named = set(compose.get("volumes") or {})
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith((".", "/")):
                path = (COMPOSE_FILE.parent / source).resolve()
                assert path.exists(), f"{name} mounts {source}, which is not in the repository"
                assert ROOT in (path, *path.parents), f"{name} mounts {source} from outside"
            else:
                assert source in named, f"{name} uses volume {source}, not declared"
        build = service.get("build")
        if build is not None:
            context = build if isinstance(build, str) else build.get("context", ".")
            assert (COMPOSE_FILE.parent / context / "Dockerfile").is_file(), name


def test_every_command_names_something_that_runs(services: dict[str, Service]) -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "scripts"
    ]
    for name, service in services.items():
        command = _command(service)
        if command[:2] == ["python", "-m"]:
            module = command[2]
            spec = importlib.util.find_spec(module)
            assert spec is not None, f"{name}: no module {module}"
            # `python -m package` runs package.__main__; its main() runs only as a script.
            importlib.import_module(
                f"{module}.__main__" if spec.submodule_search_locations else module
            )
        elif command and service.get("build") is not None:
            assert command[0] in scripts, f"{name}: {command[0]} is not a console script"


def test_the_generators_accept_their_flags(services: dict[str, Service]) -> None:
    for name, service in services.items():
        command = _command(service)
        flags = [part for part in command if part.startswith("--")]
        if command[:2] != ["python", "-m"] or not flags:
            continue
        usage = subprocess.run(
            [sys.executable, "-m", command[2], "--help"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        for flag in flags:
            assert re.search(rf"{re.escape(flag)}\b", usage), f"{name}: {command[2]} has no {flag}"


def _readme_ports() -> set[int]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Ports", 1)[1].split("\n#", 1)[0]
    return {int(port) for port in re.findall(r"^\|\s*(\d+)\s*\|", section, re.MULTILINE)}


def test_every_published_port_is_in_the_readme(services: dict[str, Service]) -> None:
    documented = _readme_ports()
    for name, service in services.items():
        for mapping in service.get("ports", []):
            host, container = str(mapping).rsplit(":", 1)[-2:]
            assert host == container, f"{name}: {mapping} publishes on another port than it uses"
            assert int(host) in documented, f"{name}: port {host} is not in the README's table"


def _published(services: dict[str, Service]) -> set[str]:
    return {str(p).rsplit(":", 1)[0] for s in services.values() for p in s.get("ports", [])}


def _listens_on(service: Service) -> set[str]:
    ports = {str(p).rsplit(":", 1)[-1] for p in service.get("ports", [])}
    return ports | {v for k, v in _environment(service).items() if k.endswith("_PORT")}


def test_the_urls_given_to_services_resolve(services: dict[str, Service]) -> None:
    """Inside the network a service is reached by its name and the port it listens on. Only the
    catalog page, which runs in the browser, is given localhost URLs: published ports."""
    browser_side = ("STREAMMESH_REGISTRY_MONITOR_URL", "STREAMMESH_MONITOR_CORS_ORIGINS")
    for name, service in services.items():
        sources = {"command": " ".join(_command(service)), **_environment(service)}
        for key, text in sources.items():
            for host, port in re.findall(r"https?://([^:/\"]+):(\d+)", text):
                where = f"{name}: {key} points at {host}:{port}"
                if key in browser_side:
                    assert host in {"localhost", "127.0.0.1"}, where
                    assert port in _published(services), f"{where}, which is not published"
                    continue
                assert host in services, f"{where}, which is not a service"
                assert port in _listens_on(services[host]), f"{where}, where nothing listens"
    monitor = _environment(services["registry"])["STREAMMESH_REGISTRY_MONITOR_URL"]
    assert monitor.endswith(
        f":{_environment(services['quality-monitor'])['STREAMMESH_MONITOR_PORT']}"
    )


def test_processes_wait_for_kafka_and_the_registry(services: dict[str, Service]) -> None:
    for name, service in services.items():
        text = json.dumps([_command(service), _environment(service)])
        for target, address in (("kafka", "kafka:19092"), ("registry", "registry:8081")):
            if name != target and address in text:
                assert _waits_for(services, name, target), f"{name} starts before {target}"
                assert "healthcheck" in services[target], f"{target} has no healthcheck"
    # their input topics and schemas exist only once every product is applied
    for name in ("customers-generator", "sales-generator", "cltv"):
        assert _waits_for(services, name, "apply"), f"{name} starts before apply"


def _prometheus_config(services: dict[str, Service]) -> Path:
    service = services["prometheus"]
    flags = [part for part in _command(service) if part.startswith("--config.file=")]
    assert flags, "prometheus is not given --config.file"
    config = _host_path(service, flags[0].split("=", 1)[1])
    assert config is not None, f"{flags[0]} is not mounted from the repo"
    assert config.is_file(), f"{config} is missing"
    return config


def test_prometheus_config_passes_promtool(services: dict[str, Service]) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed")
    config = _prometheus_config(services)
    done = subprocess.run(
        [promtool, "check", "config", str(config)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_prometheus_scrapes_services_of_the_file(services: dict[str, Service]) -> None:
    config = _load(_prometheus_config(services))
    scraped = [
        target
        for job in config["scrape_configs"]
        for static in job.get("static_configs", [])
        for target in static["targets"]
    ]
    assert scraped
    for target in scraped:
        host, port = target.rsplit(":", 1)
        if host in {"localhost", "127.0.0.1"}:
            assert port == "9090", f"{target} is not Prometheus itself"
            continue
        assert host in services, f"Prometheus scrapes {target}, not a service of the file"
        assert port in _listens_on(services[host]), f"{host} does not listen on {port}"


def test_grafana_provisioning_matches_its_mounts(services: dict[str, Service]) -> None:
    grafana = services["grafana"]
    provisioning = _host_path(grafana, "/etc/grafana/provisioning")
    assert provisioning is not None, "provisioning is not mounted"
    assert provisioning.is_dir(), f"{provisioning} is missing"
    providers = [
        provider
        for path in sorted((provisioning / "dashboards").glob("*.yml"))
        for provider in _load(path)["providers"]
    ]
    assert providers
    for provider in providers:
        mounted = _host_path(grafana, provider["options"]["path"])
        assert mounted is not None, f"dashboards path {provider['options']['path']} is not mounted"
        assert sorted(mounted.glob("*.json")), f"no dashboards at {mounted}"
    for path in sorted((provisioning / "datasources").glob("*.yml")):
        for source in _load(path)["datasources"]:
            hosts = re.findall(r"https?://([^:/]+)", source["url"])
            assert hosts, source["url"]
            assert hosts[0] in services, f"data source {source['url']} is not a service"
    home = _environment(grafana).get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    if home is not None:
        mounted_home = _host_path(grafana, home)
        assert mounted_home is not None, f"{home} is not mounted"
        assert mounted_home.is_file(), f"{mounted_home} is missing"
    env = _environment(grafana)
    assert env.get("GF_AUTH_ANONYMOUS_ENABLED") == "true"
    assert env.get("GF_AUTH_ANONYMOUS_ORG_ROLE") == "Viewer"
