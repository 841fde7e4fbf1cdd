"""The deployable parts (deploy/): the image's Dockerfile, the Compose files, the Kubernetes manifests.

Each is checked with the tool or the published schema that judges it — hadolint, the Compose
Specification's JSON Schema (tests/deploy/compose_schema.py), ``kubernetes-validate --strict`` — and against the
bot itself: the settings they name are the aliases of ``bot.config.Settings``, the commands they run
are real CLI commands, the probes' paths are in ``bot/runtime/openapi.yaml``, and every grace period
outlasts ``SMC_SHUTDOWN_GRACE``. Each tool is also shown a broken file, so a check that stopped
checking would fail. Building and running the image takes a minute and root: that is
``make image-check`` (deploy/check-image.sh), not this suite.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from bot.config import Settings, env_names, load_settings
from tests.deploy.compose_schema import compose_schema

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
IGNORE_FILE = DEPLOY / "Dockerfile.dockerignore"
COMPOSE = DEPLOY / "compose.yaml"
MATTERMOST_COMPOSE = DEPLOY / "mattermost" / "compose.yaml"
ENV_EXAMPLE = DEPLOY / ".env.example"
KUBE = DEPLOY / "kubernetes"
OPENAPI = ROOT / "bot" / "runtime" / "openapi.yaml"

SETTINGS = frozenset(env_names())
# deploy/.env.example's one section of variables that only the Mattermost compose file reads.
NOT_SETTINGS_HEADING = "# --- not a bot setting"


def tool(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'", pytrace=False)
    return found


def grace_seconds(value: str | int) -> float:
    """SMC_SHUTDOWN_GRACE read by the bot's own settings parser (seconds or ISO 8601)."""
    return load_settings({"SMC_SHUTDOWN_GRACE": str(value)}).shutdown_grace.total_seconds()


DEFAULT_GRACE = Settings().shutdown_grace.total_seconds()


@cache
def is_cli_command(name: str) -> bool:
    """``socialmedia-check NAME --help`` exits 0: NAME is a subcommand of the real CLI."""
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", name, "--help"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return result.returncode == 0


def assert_cli_command(argv: list[str], where: str) -> None:
    assert argv[0] == "socialmedia-check", f"{where}: runs {argv}, not the bot's CLI"
    if argv[1] == "worker" and not is_cli_command("worker"):
        pytest.xfail("`socialmedia-check worker` is not in the CLI yet (issue 12's reminder worker)")
    assert is_cli_command(argv[1]), f"{where}: `socialmedia-check {argv[1]}` is not a CLI command"


def test_the_cli_check_tells_a_command_from_a_typo() -> None:
    assert is_cli_command("serve")
    assert not is_cli_command("serv")


# --- the Dockerfile ------------------------------------------------------------------------------


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for line in text.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    result = []
    for line in logical:
        keyword, _, rest = line.strip().partition(" ")
        result.append((keyword.upper(), rest.strip()))
    return result


def stages(text: str) -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions(text):
        if keyword == "FROM":
            found.append([])
        found[-1].append((keyword, rest))
    return found


DOCKER_TEXT = DOCKERFILE.read_text(encoding="utf-8")
FINAL = stages(DOCKER_TEXT)[-1]


def final(keyword: str) -> list[str]:
    return [rest for kw, rest in FINAL if kw == keyword]


def test_hadolint_passes_the_dockerfile() -> None:
    result = subprocess.run([tool("hadolint"), str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_fails_a_careless_dockerfile() -> None:
    careless = "FROM python:latest\nRUN apt-get update && apt-get install -y curl\nCMD python app.py\n"
    result = subprocess.run([tool("hadolint"), "-"], input=careless, capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert {"DL3007", "DL3008", "DL3025"} <= set(re.findall(r"DL\d{4}", result.stdout)), result.stdout


def test_one_standard_base_that_the_image_check_can_replace() -> None:
    """`--from` replaces the first FROM only, so that line must be the one external image."""
    froms = [rest.split() for kw, rest in instructions(DOCKER_TEXT) if kw == "FROM"]
    assert froms[0] == ["python:3.11-slim", "AS", "python"]
    assert len(froms) >= 3, "multi-stage: the base, a build stage and the final stage"
    for i, (image, as_, _name) in enumerate(froms[1:], start=1):
        earlier = {f[2] for f in froms[:i]}
        assert as_ == "AS" and image in earlier, f"stage {i} starts from {image}, not from an earlier stage"
    assert froms[-1][0] == "python", "the final stage is the plain base plus what it copies"


def test_the_final_stage_runs_the_server_unprivileged_under_an_init() -> None:
    (user,) = final("USER")
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) != 0 and gid.isdigit() and int(gid) != 0, user
    assert json.loads(final("ENTRYPOINT")[0]) == ["dumb-init", "--"]
    cmd = json.loads(final("CMD")[0])
    assert cmd == ["socialmedia-check", "serve"]
    assert_cli_command(cmd, "the image's CMD")
    assert final("STOPSIGNAL") == ["SIGTERM"]
    (healthcheck,) = final("HEALTHCHECK")
    assert "healthcheck.py" in healthcheck and "/readyz" in healthcheck
    # dumb-init is installed (pinned) by the build stage, into the virtualenv the final stage copies.
    assert re.search(r"pip install .*dumb-init==[\d.]+", DOCKER_TEXT.replace("\\\n", " "))


def test_the_final_stage_installs_nothing_and_builds_nothing() -> None:
    runs = " ".join(final("RUN"))
    for word in ("pip", "apt-get", "apk", "gcc", "make"):
        assert not re.search(rf"\b{word}\b", runs), f"the final stage runs {word}: {runs}"
    copies = final("COPY")
    assert "--from=venv /opt/venv /opt/venv" in copies and "--from=build /opt/app /opt/app" in copies, copies
    # The virtualenv the final stage copies is the one pip was removed from.
    venv_stage = next(s for s in stages(DOCKER_TEXT) if s[0][1].endswith("AS venv"))
    assert any("pip uninstall --yes pip setuptools wheel" in rest for kw, rest in venv_stage if kw == "RUN")


def test_the_build_context_keeps_what_the_image_copies() -> None:
    kept = {line[1:].rstrip("/") for line in IGNORE_FILE.read_text(encoding="utf-8").splitlines() if line[:1] == "!"}
    ignore_lines = [line for line in IGNORE_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert "*" in ignore_lines, "the ignore file starts from nothing (no .venv, no .git in the context)"
    sources = []
    for keyword, rest in instructions(DOCKER_TEXT):
        if keyword == "COPY" and not rest.startswith("--from"):
            sources += rest.split()[:-1]
    assert sources, "the Dockerfile copies the project in"
    for source in sources:
        assert source.rstrip("/") in kept, f"COPY {source}: excluded from the build context by {IGNORE_FILE.name}"
    assert {"bot", "dialogues", "pyproject.toml"} <= kept  # the dialogues ship inside the package


def test_the_wheel_the_image_installs_holds_every_package_and_data_file() -> None:
    """The image installs the built wheel, not the checkout: a package left out of pyproject.toml's
    explicit list imports fine in the editable test install and fails only in the container."""
    import tomllib

    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "bot").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert found <= listed, f"packages missing from pyproject.toml: {sorted(found - listed)}"
    data = setuptools["package-data"]
    for path in (ROOT / "bot").rglob("*"):
        if path.is_dir() or path.suffix in (".py", ".pyc") or "__pycache__" in path.parts:
            continue
        package = ".".join(path.parent.relative_to(ROOT).parts)
        name = path.relative_to(path.parent).as_posix()
        assert any(Path(name).match(glob) for glob in data.get(package, [])), f"{path}: not in package-data"


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(self.status if self.path == "/readyz" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture
def health_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def run_healthcheck(port: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PORT": str(port)}
    return subprocess.run(
        [sys.executable, str(DEPLOY / "healthcheck.py"), "/readyz"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_image_healthcheck_follows_readyz(health_server: ThreadingHTTPServer) -> None:
    port = health_server.server_address[1]
    _Health.status = 200
    assert run_healthcheck(port).returncode == 0
    _Health.status = 503
    failed = run_healthcheck(port)
    assert failed.returncode == 1 and "503" in failed.stderr


def test_the_image_healthcheck_fails_when_nothing_listens() -> None:
    with ThreadingHTTPServer(("127.0.0.1", 0), _Health) as closed:
        port = closed.server_address[1]
    assert run_healthcheck(port).returncode == 1


# --- Compose -------------------------------------------------------------------------------------


@cache
def compose_validator() -> jsonschema.protocols.Validator:
    schema = compose_schema()
    # It names draft 2019-09 by its old http URI, which jsonschema does not look up by itself.
    assert schema["$schema"].rstrip("#").endswith("json-schema.org/draft/2019-09/schema")
    jsonschema.Draft201909Validator.check_schema(schema)
    return jsonschema.Draft201909Validator(schema, format_checker=jsonschema.Draft201909Validator.FORMAT_CHECKER)


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def schema_errors(document: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in compose_validator().iter_errors(document)]


@pytest.mark.parametrize("path", [COMPOSE, MATTERMOST_COMPOSE], ids=lambda p: p.relative_to(DEPLOY).as_posix())
def test_compose_files_follow_the_compose_specification(path: Path) -> None:
    assert schema_errors(load_yaml(path)) == []


def test_the_compose_schema_rejects_what_compose_would() -> None:
    broken = load_yaml(COMPOSE)
    broken["services"]["bot"]["depends_on"] = {"redis": {"condition": "healthy"}}  # service_healthy
    broken["services"]["redis"]["healthckeck"] = broken["services"]["redis"].pop("healthcheck")
    errors = schema_errors(broken)
    assert any("depends_on" in e for e in errors), errors
    assert any("healthckeck" in e for e in errors), errors


VARIABLE = re.compile(r"(?<!\$)\$(?:\{([A-Za-z_][A-Za-z0-9_]*)|([A-Za-z_][A-Za-z0-9_]*))")


def variables_of(path: Path) -> set[str]:
    """Every variable Compose interpolates (``${X}``, ``${X:-d}``, ``$X``; ``$$`` is a literal $)."""
    return {a or b for a, b in VARIABLE.findall(path.read_text(encoding="utf-8"))}


def env_example() -> tuple[set[str], set[str]]:
    """The variables .env.example documents: (bot settings, the not-a-setting section's)."""
    settings: set[str] = set()
    others: set[str] = set()
    target = settings
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.startswith(NOT_SETTINGS_HEADING):
            target = others
        match = re.fullmatch(r"#? ?([A-Z][A-Z0-9_]*)=.*", line)
        if match:
            target.add(match.group(1))
    return settings, others


def test_the_variable_scan_sees_every_form() -> None:
    sample = "a: ${ONE}\nb: ${TWO:-x}\nc: $THREE\nd: $$NOT\ne: ${FOUR:?set it}\n"
    assert {a or b for a, b in VARIABLE.findall(sample)} == {"ONE", "TWO", "THREE", "FOUR"}


def test_the_bot_compose_file_uses_only_settings_of_the_bot() -> None:
    used = variables_of(COMPOSE)
    assert used, "compose.yaml interpolates PORT and REDIS_URL"
    assert used <= SETTINGS, f"not settings of bot.config.Settings: {sorted(used - SETTINGS)}"


def test_env_example_documents_every_setting_and_nothing_else() -> None:
    settings, others = env_example()
    assert settings == SETTINGS, (
        f"missing from .env.example: {sorted(SETTINGS - settings)}; not settings: {sorted(settings - SETTINGS)}"
    )
    # The one other section holds only what the Mattermost compose file needs, and all of it.
    mattermost = variables_of(MATTERMOST_COMPOSE)
    assert others == mattermost - SETTINGS, (others, mattermost)


def test_env_example_sets_nothing_by_default() -> None:
    """Every line is commented out: a copied .env changes no default until someone edits it."""
    active = [line for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines() if re.match(r"[A-Z_]+=", line)]
    assert active == []


def test_redis_is_durable_and_healthy_before_the_bot_starts() -> None:
    services = load_yaml(COMPOSE)["services"]
    redis = services["redis"]
    command = " ".join(redis["command"])
    assert "--appendonly yes" in command and "--appendfsync everysec" in command
    volume, _, target = redis["volumes"][0].partition(":")
    assert target == "/data" and volume in load_yaml(COMPOSE)["volumes"], "the append-only file on a named volume"
    assert "redis-cli" in redis["healthcheck"]["test"]
    for name in ("bot", "worker"):
        assert services[name]["depends_on"] == {"redis": {"condition": "service_healthy"}}, name


def test_compose_runs_real_commands_and_outlasts_the_drain() -> None:
    services = load_yaml(COMPOSE)["services"]
    assert services["worker"]["profiles"] == ["worker"], "the worker is optional"
    assert "profiles" not in services["bot"]
    for name in ("bot", "worker"):
        service = services[name]
        stop = service["stop_grace_period"]
        assert re.fullmatch(r"\d+s", stop), stop
        assert int(stop[:-1]) > DEFAULT_GRACE, f"{name}: stop_grace_period {stop} <= SMC_SHUTDOWN_GRACE"
        assert service["read_only"] is True and "/tmp" in service["tmpfs"]
    assert services["bot"]["command"] == ["socialmedia-check", "serve"]
    assert_cli_command(services["bot"]["command"], "compose bot")
    assert services["worker"]["command"] == ["socialmedia-check", "worker"]
    assert_cli_command(services["worker"]["command"], "compose worker")


def test_the_mattermost_file_brings_its_database() -> None:
    services = load_yaml(MATTERMOST_COMPOSE)["services"]
    mattermost = services["mattermost"]
    assert mattermost["environment"]["MM_SQLSETTINGS_DRIVERNAME"] == "postgres"
    assert "@postgres:5432/" in mattermost["environment"]["MM_SQLSETTINGS_DATASOURCE"]
    assert mattermost["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    # Mattermost calls the bot by its compose service name, a private address it must allow.
    assert mattermost["environment"]["MM_SERVICESETTINGS_ALLOWEDUNTRUSTEDINTERNALCONNECTIONS"] == "bot"
    assert "bot" in load_yaml(COMPOSE)["services"]


# --- Kubernetes ----------------------------------------------------------------------------------

KUBE_FILES = sorted(KUBE.rglob("*.yaml"))


def kube_objects() -> dict[tuple[str, str], dict[str, Any]]:
    objects = {}
    for path in KUBE_FILES:
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc:
                objects[(doc["kind"], doc["metadata"]["name"])] = doc
    return objects


OBJECTS = kube_objects()
DEPLOYMENTS = [doc for (kind, _), doc in OBJECTS.items() if kind == "Deployment"]


def kubernetes_validate(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("kubernetes-validate"), "--strict", *map(str, paths)], capture_output=True, text=True, check=False
    )


def test_kubernetes_validate_strict_passes_every_manifest() -> None:
    assert {p.name for p in KUBE_FILES} >= {"deployment.yaml", "service.yaml", "pdb.yaml", "secret.yaml"}
    result = kubernetes_validate(*KUBE_FILES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(" passed ") == len(OBJECTS), result.stdout


def test_kubernetes_validate_strict_rejects_an_unknown_field(tmp_path: Path) -> None:
    doc = load_yaml(KUBE / "deployment.yaml")
    doc["spec"]["template"]["spec"]["terminationGracePeriod"] = 35  # not a field
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(doc), encoding="utf-8")
    result = kubernetes_validate(broken)
    assert result.returncode != 0 and "terminationGracePeriod" in result.stdout + result.stderr


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    return only


def env_of(deployment: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container(deployment)["env"]}


def openapi_get_paths() -> set[str]:
    paths = load_yaml(OPENAPI)["paths"]
    return {path for path, ops in paths.items() if "get" in ops}


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=lambda d: d["metadata"]["name"])
def test_probes_ask_the_health_endpoints_the_bot_serves(deployment: dict[str, Any]) -> None:
    spec = container(deployment)
    served = openapi_get_paths()
    ports = {p["name"] for p in spec["ports"]}
    assert spec["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert spec["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        get = spec[probe]["httpGet"]
        assert get["path"] in served, f"{probe}: {get['path']} is not in {OPENAPI.name}"
        assert get["port"] in ports
    port = int(env_of(deployment)["PORT"]["value"])
    assert [p["containerPort"] for p in spec["ports"]] == [port], "the probes' port is where the bot listens"


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=lambda d: d["metadata"]["name"])
def test_a_rolling_update_waits_for_the_drain(deployment: dict[str, Any]) -> None:
    pod = deployment["spec"]["template"]["spec"]
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    grace = grace_seconds(env_of(deployment)["SMC_SHUTDOWN_GRACE"]["value"])
    pause = container(deployment).get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    assert pod["terminationGracePeriodSeconds"] > pause + grace, (pod["terminationGracePeriodSeconds"], pause, grace)


def test_the_bot_is_replicated_and_paused_before_sigterm() -> None:
    bot = OBJECTS[("Deployment", "socialmedia-check")]
    assert bot["spec"]["replicas"] >= 2
    # The bot refuses new requests once it drains, so it keeps serving while endpoints update.
    assert container(bot)["lifecycle"]["preStop"]["sleep"]["seconds"] >= 1


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=lambda d: d["metadata"]["name"])
def test_pods_run_unprivileged_and_read_only(deployment: dict[str, Any]) -> None:
    pod = deployment["spec"]["template"]["spec"]
    spec = container(deployment)
    uid, _, gid = final("USER")[0].partition(":")
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]) == (int(uid), int(gid))
    assert pod["automountServiceAccountToken"] is False
    security = spec["securityContext"]
    assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    # The one writable place: matplotlib's cache (MPLCONFIGDIR in the image) on an emptyDir.
    assert "MPLCONFIGDIR=/tmp/matplotlib" in " ".join(final("ENV"))
    (mount,) = spec["volumeMounts"]
    assert mount["mountPath"] == "/tmp"
    assert {v["name"]: v for v in pod["volumes"]}[mount["name"]]["emptyDir"]
    assert spec["resources"]["requests"]["memory"] and spec["resources"]["limits"]["memory"]


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=lambda d: d["metadata"]["name"])
def test_pods_run_a_real_command_under_the_image_init(deployment: dict[str, Any]) -> None:
    spec = container(deployment)
    assert "command" not in spec, "`command` would replace the image's ENTRYPOINT (dumb-init); use args"
    assert_cli_command(spec["args"], deployment["metadata"]["name"])


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=lambda d: d["metadata"]["name"])
def test_pods_read_only_settings_and_their_tokens_from_the_secret(deployment: dict[str, Any]) -> None:
    config = OBJECTS[("ConfigMap", "socialmedia-check")]["data"]
    secret = OBJECTS[("Secret", "socialmedia-check")]["stringData"]
    env = env_of(deployment)
    named = set(env) | set(config) | set(secret)
    assert named <= SETTINGS, f"not settings of bot.config.Settings: {sorted(named - SETTINGS)}"
    [from_config] = container(deployment)["envFrom"]
    assert from_config["configMapRef"]["name"] == "socialmedia-check"
    for name in ("REDIS_URL", "SLACK_BOT_TOKEN", "MATTERMOST_BOT_TOKEN", "SMC_SECRET"):
        ref = env[name]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == "socialmedia-check" and ref["key"] in secret, name
    for name, entry in env.items():
        if "value" in entry:
            assert not re.search(r"TOKEN|SECRET|REDIS_URL", name), f"{name} is given in plain text"


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=lambda d: d["metadata"]["name"])
def test_with_the_secret_filled_in_both_platforms_are_on(deployment: dict[str, Any]) -> None:
    """The pod's environment, as Kubernetes would build it from the example Secret, read by the bot."""
    secret = OBJECTS[("Secret", "socialmedia-check")]["stringData"]
    environ = dict(OBJECTS[("ConfigMap", "socialmedia-check")]["data"])
    for name, entry in env_of(deployment).items():
        environ[name] = entry["value"] if "value" in entry else secret[entry["valueFrom"]["secretKeyRef"]["key"]]
    settings = load_settings(environ)  # the example values are valid settings too
    assert settings.slack_enabled and settings.mattermost_enabled, sorted(environ)


def test_the_example_secret_is_only_placeholders() -> None:
    secret = OBJECTS[("Secret", "socialmedia-check")]
    assert "EXAMPLE ONLY" in (KUBE / "examples" / "secret.yaml").read_text(encoding="utf-8")
    for key, value in secret["stringData"].items():
        assert "PLACEHOLDER" in value or "example.com" in value, f"{key}: {value!r} does not look like a placeholder"


def test_service_pdb_and_ingress_find_the_bot_pods() -> None:
    bot = OBJECTS[("Deployment", "socialmedia-check")]
    labels = bot["spec"]["template"]["metadata"]["labels"]
    service = OBJECTS[("Service", "socialmedia-check")]
    assert service["spec"]["selector"].items() <= labels.items()
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] in {p["name"] for p in container(bot)["ports"]}
    pdb = OBJECTS[("PodDisruptionBudget", "socialmedia-check")]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["spec"]["minAvailable"] < bot["spec"]["replicas"], "a PDB that allows no eviction blocks node drains"
    ingress = OBJECTS[("Ingress", "socialmedia-check")]
    served = set(load_yaml(OPENAPI)["paths"])
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert (backend["name"], backend["port"]["name"]) == (service["metadata"]["name"], port["name"])
            assert any(p == path["path"] or p.startswith(path["path"] + "/") for p in served), path["path"]
    assert not {"/healthz", "/readyz"} & {p["path"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]}


# --- how the image check is run -------------------------------------------------------------------


def test_make_image_check_runs_the_script() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    target = re.search(r"^image-check:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert target, "the Makefile has an image-check target"
    assert "deploy/check-image.sh" in target.group(1)
    script = DEPLOY / "check-image.sh"
    assert os.access(script, os.X_OK)
    assert subprocess.run(["bash", "-n", str(script)], check=False).returncode == 0
    # The check builds this Dockerfile with the local base in place of its one FROM.
    text = script.read_text(encoding="utf-8")
    build = next(line for line in text.splitlines() if " build --from " in line)
    assert "--format docker" in build, "without it podman drops HEALTHCHECK"
    assert "--file deploy/Dockerfile --ignorefile deploy/Dockerfile.dockerignore" in text
