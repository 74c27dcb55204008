"""The production stack (deploy/compose.yaml, deploy/env.example, the Dockerfile) and the lock
files, checked where Docker is not: against the Compose specification's JSON schema, and against
what recnet itself reads (its settings, its commands, its dependencies)."""

from __future__ import annotations

import copy
import importlib.resources
import json
import os
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import check_jsonschema.builtin_schemas.vendor as vendored_schemas
import pytest
import typer.main
from jsonschema import Draft202012Validator
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from ruamel.yaml import YAML

from recnet.cli import app as recnet_cli
from recnet.config import Settings
from tests.paths import ROOT

DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / "env.example"
RECNET_SERVICES = ("migrate", "api", "worker")
# Read by compose.yaml itself, not by recnet.
COMPOSE_ONLY = {"RECNET_IMAGE", "RECNET_PUBLISH", "POSTGRES_PASSWORD"}
# `recnet serve`'s own options, read from the environment by the command.
SERVE_OPTIONS = {"RECNET_HOST", "RECNET_PORT", "RECNET_WORKERS"}
_INTERPOLATION = re.compile(
    r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::?(?P<op>[-?])(?P<arg>[^}]*))?\}"
)


def load_yaml(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = load_yaml(COMPOSE)
    return document


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def compose_schema() -> Draft202012Validator:
    text = importlib.resources.files(vendored_schemas).joinpath("compose-spec.json").read_text()
    schema = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${NAME}, ${NAME:-default} and ${NAME:?error}, as `docker compose` reads them."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if env.get(name):
            return env[name]
        if op == "-":
            return arg or ""
        raise AssertionError(
            f"${{{name}}} is not set by deploy/env.example ({arg or 'no default'})"
        )

    return _INTERPOLATION.sub(one, value)


def service_environment(
    compose: dict[str, Any], env_example: dict[str, str], service: str
) -> dict[str, str]:
    """What the service's process sees: the env file, then the service's environment."""
    environment = dict(env_example)
    for name, value in compose["services"][service].get("environment", {}).items():
        environment[name] = interpolate(str(value), env_example)
    return environment


def test_compose_file_is_valid_against_the_compose_specification(compose: dict[str, Any]) -> None:
    errors = sorted(compose_schema().iter_errors(compose), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_the_schema_check_refuses_what_docker_compose_would(compose: dict[str, Any]) -> None:
    # The validator bites: a misspelt key and an unknown start condition are both refused.
    broken = copy.deepcopy(compose)
    broken["services"]["api"]["healthchek"] = broken["services"]["api"].pop("healthcheck")
    broken["services"]["worker"]["depends_on"]["migrate"]["condition"] = "service_finished"
    paths = {tuple(e.path) for e in compose_schema().iter_errors(broken)}
    assert ("services", "api") in paths
    assert any(path[:3] == ("services", "worker", "depends_on") for path in paths)


def test_every_service_has_an_image_and_its_dependencies_exist(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", "redis", *RECNET_SERVICES}
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        for target in service.get("depends_on", {}):
            assert target in services, f"{name} depends on a service that is not there: {target}"
    images = {services[name]["image"] for name in RECNET_SERVICES}
    assert len(images) == 1, "the API, the worker and the migration run the same image"
    assert all(services[name]["build"]["dockerfile"] == "Dockerfile" for name in RECNET_SERVICES)
    assert (COMPOSE.parent / services["api"]["build"]["context"] / "Dockerfile").is_file()


def test_migration_runs_once_before_the_api_and_the_worker(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["migrate"]["command"] == ["recnet", "migrate"]
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    for name in ("api", "worker"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
        assert services[name]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert services["api"]["depends_on"]["redis"] == {"condition": "service_healthy"}


def test_the_api_runs_several_workers_and_webhooks_go_to_the_worker_service(
    compose: dict[str, Any], env_example: dict[str, str]
) -> None:
    api, worker = compose["services"]["api"], compose["services"]["worker"]
    assert api["command"] == ["recnet", "serve", "--no-migrate", "--no-worker"]
    assert worker["command"] == ["recnet", "worker"]
    environment = service_environment(compose, env_example, "api")
    assert int(environment["RECNET_WORKERS"]) > 1
    # Several processes add their counts up for /metrics in a directory emptied on each start.
    assert environment["PROMETHEUS_MULTIPROC_DIR"] in api["tmpfs"]


def test_commands_and_options_used_by_the_stack_exist() -> None:
    command: Any = typer.main.get_command(recnet_cli)
    context = command.context_class(command)
    serve = command.get_command(context, "serve")
    assert serve is not None
    options = {opt for param in serve.params for opt in (*param.opts, *param.secondary_opts)}
    assert {"--no-migrate", "--no-worker", "--workers"} <= options
    workers = next(p for p in serve.params if p.name == "workers")
    assert workers.envvar == "RECNET_WORKERS"
    for name in ("migrate", "worker"):
        assert command.get_command(context, name) is not None, name


def test_health_checks_probe_readiness_and_the_backing_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert "/v1/ready" in " ".join(services["api"]["healthcheck"]["test"])
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert "ping" in services["redis"]["healthcheck"]["test"]
    # No HTTP server in these two: the image's HEALTHCHECK would mark them unhealthy forever.
    assert services["worker"]["healthcheck"] == {"disable": True}
    assert services["migrate"]["healthcheck"] == {"disable": True}


def test_database_data_lives_on_a_declared_volume(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    for name, service in compose["services"].items():
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0] if isinstance(mount, str) else mount["source"]
            if not source.startswith((".", "/")):
                assert source in declared, f"{name} mounts an undeclared volume {source}"
    assert "pgdata:/var/lib/postgresql/data" in compose["services"]["postgres"]["volumes"]


def test_every_variable_the_stack_uses_is_set_and_is_one_recnet_reads(
    compose: dict[str, Any], env_example: dict[str, str]
) -> None:
    settings = {f"RECNET_{name.upper()}" for name in Settings.model_fields}
    # Every ${...} without a default is set by the env file.
    for match in _INTERPOLATION.finditer(COMPOSE.read_text(encoding="utf-8")):
        if match["op"] != "-":
            assert env_example.get(match["name"]), f"${{{match['name']}}} is not in env.example"
    # Every RECNET_ name is a setting (a misspelt one would be silently ignored).
    named = set(env_example)
    for name in RECNET_SERVICES:
        named |= set(compose["services"][name].get("environment", {}))
    unknown = {
        n for n in named if n.startswith("RECNET_") and n not in settings | SERVE_OPTIONS
    } - COMPOSE_ONLY
    assert not unknown, f"not read by recnet: {sorted(unknown)}"
    for service in RECNET_SERVICES:
        assert compose["services"][service]["env_file"] == [{"path": ".env", "required": True}]


@pytest.mark.parametrize("service", RECNET_SERVICES)
def test_each_recnet_service_starts_in_production_with_the_example_values(
    compose: dict[str, Any],
    env_example: dict[str, str],
    service: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    environment = service_environment(compose, env_example, service)
    for name in [n for n in os.environ if n.startswith("RECNET_")]:
        monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings = Settings()  # RECNET_ENV=prod refuses unsafe values: none here
    assert settings.env == "prod"
    assert settings.database_url.startswith("postgresql://recnet:")
    assert settings.database_url.endswith("@postgres:5432/recnet")
    assert settings.database_role == "recnet_app"
    assert settings.redis_url == "redis://redis:6379/0"
    assert settings.metrics == "token"


def test_the_example_env_file_holds_no_real_secret(env_example: dict[str, str]) -> None:
    for name in ("POSTGRES_PASSWORD", "RECNET_SECRET_KEY", "RECNET_METRICS_TOKEN"):
        assert env_example[name].startswith("CHANGE-ME"), name
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", str(DEPLOY / ".env")], cwd=ROOT, check=False
    )
    assert ignored.returncode == 0, "deploy/.env (the real secrets) must be git-ignored"


def _locked(path: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith(("#", " ", "-")):
            name, _, version = line.partition("==")
            assert version, f"{path.name}: {line!r} is not pinned to one version"
            pins[canonicalize_name(name)] = version.strip()
    return pins


@pytest.mark.parametrize(
    ("lock", "extras"), [("requirements.lock", ()), ("requirements-test.lock", ("test",))]
)
def test_lock_files_pin_every_declared_dependency_within_its_bounds(
    lock: str, extras: tuple[str, ...]
) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = list(project["dependencies"])
    for extra in extras:
        declared += project["optional-dependencies"][extra]
    pins = _locked(ROOT / lock)
    for line in declared:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{lock} lacks {name}: run `make lock`"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{lock} pins {name}=={pins[name]}, outside {requirement.specifier}: run `make lock`"
        )


def test_the_image_and_ci_install_from_the_lock_files() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "pip install --no-deps -r requirements.lock" in dockerfile
    assert "pip check" in dockerfile
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "--no-deps -r requirements-test.lock" in makefile
    assert re.search(r"^lock:", makefile, re.MULTILINE)
    assert "make install" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
