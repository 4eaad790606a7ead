"""The deployment files (Dockerfile, docker-compose.yml, deploy/k8s) agree with the code.

Nothing here needs Docker or a cluster: the files are parsed with PyYAML and checked against
`schemas.settings.Settings`. Where a `docker compose` or `kubectl` client is on the machine,
two extra tests let them parse the files too; elsewhere those skip.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from schemas.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
K8S = ROOT / "deploy" / "k8s"

SETTING_NAMES = {name.upper() for name in Settings.model_fields}

# The Kafka contract (DESIGN.md), the template store and the Faust tables' changelogs: all the same count.
EXPECTED_TOPICS = {
    "videogen.jobs.requested",
    "videogen.jobs.validated",
    "videogen.jobs.fetched",
    "videogen.jobs.rendered",
    "videogen.jobs.uploaded",
    "videogen.jobs.events",
    "videogen.jobs.results",
    "videogen.jobs.dlq",
    "videogen.batches.items",
    "videogen.render.chunks",
    "videogen.templates",
    "videogen-job_state-changelog",
    "videogen-active_jobs-changelog",
    "videogen-batches-changelog",
}

VIDEOGEN_SERVICES = ("api", "worker")
INFRA_SERVICES = ("kafka", "kafka-init", "clickhouse", "minio", "minio-init")
# Files in deploy/k8s that are not applied by the kustomization, on purpose.
OPTIONAL_MANIFESTS = {"secret.example.yaml", "worker-keda-scaledobject.yaml"}


# ---------------------------------------------------------------- helpers

_INTERPOLATION = re.compile(
    r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)"
)


def interpolate(value: Any) -> Any:
    """Compose's variable interpolation with an empty environment: `${X:-d}` -> d, `$$` -> `$`."""
    if isinstance(value, dict):
        return {k: interpolate(v) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v) for v in value]
    if not isinstance(value, str):
        return value

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        if m.group(2) and m.group(2).endswith("-"):
            return m.group(3)
        raise AssertionError(f"compose variable without a default: {m.group(0)!r}")

    return _INTERPOLATION.sub(sub, value)


def env_mapping(env: Any) -> dict[str, str]:
    if env is None:
        return {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) if "=" in item else (item, "") for item in env)
        return {k: v for k, v in pairs}
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def settings_from(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.fixture(scope="module")
def compose_raw() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def compose(compose_raw: dict[str, Any]) -> dict[str, Any]:
    return interpolate(compose_raw)


def load_manifests(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


@pytest.fixture(scope="module")
def kustomization() -> dict[str, Any]:
    return yaml.safe_load((K8S / "kustomization.yaml").read_text())


@pytest.fixture(scope="module")
def manifests(kustomization: dict[str, Any]) -> list[dict[str, Any]]:
    """Everything the kustomization applies, in order."""
    docs: list[dict[str, Any]] = []
    for name in kustomization["resources"]:
        docs.extend(load_manifests(K8S / name))
    return docs


def find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    hits = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(hits) == 1, f"expected one {kind}/{name}, found {len(hits)}"
    return hits[0]


def configmap_env(manifests: list[dict[str, Any]]) -> dict[str, str]:
    return {k: str(v) for k, v in find(manifests, "ConfigMap", "videogen-config")["data"].items()}


def containers(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    return deployment["spec"]["template"]["spec"]["containers"]


# ---------------------------------------------------------------- Dockerfile


def test_dockerfile_slim_non_root_healthcheck_api_default() -> None:
    text = DOCKERFILE.read_text()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    froms = [ln for ln in lines if ln.upper().startswith("FROM ")]
    assert froms and all("python:${PYTHON_VERSION}-slim" in ln for ln in froms)
    assert re.search(r"^ARG PYTHON_VERSION=3\.11$", text, re.M)

    users = [ln.split(None, 1)[1] for ln in lines if ln.upper().startswith("USER ")]
    assert users, "the image must switch to a non-root user"
    assert users[-1].split(":")[0] not in {"root", "0"}

    # The HEALTHCHECK is a python one-liner against /health: no curl in the image.
    health = [ln for ln in lines if ln.upper().startswith("HEALTHCHECK")]
    assert health and "/health" in text[text.index("HEALTHCHECK") :].split("\n\n")[0]
    assert not re.search(r"install[^\n]*\bcurl\b", text)

    assert 'CMD ["videogen", "api"]' in lines
    assert any(ln.startswith("ENTRYPOINT") for ln in lines)
    assert re.search(r"pip install .*\.", text), "the image installs the package itself"


def test_dockerignore_keeps_context_clean() -> None:
    entries = (ROOT / ".dockerignore").read_text().split()
    for needed in (".git", ".venv", "var", ".env"):
        assert needed in entries
    # The build needs these: pyproject's readme and the package sources.
    for kept in ("README.md", "pyproject.toml", "schemas", "api"):
        assert kept not in entries


# ---------------------------------------------------------------- docker-compose.yml


def test_compose_has_every_service(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in (*INFRA_SERVICES, *VIDEOGEN_SERVICES):
        assert name in services, name
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert services["clickhouse"]["image"].startswith("clickhouse/clickhouse-server:")
    assert services["clickhouse"]["environment"]["CLICKHOUSE_DB"] == "videogen"
    assert services["minio"]["image"].startswith("minio/minio:")
    assert services["minio-init"]["image"].startswith("minio/mc:")


def test_compose_top_comment_says_how_to_run_and_connect_clickhouse() -> None:
    head = COMPOSE.read_text().split("\n\n", 1)[0]
    assert "docker compose up" in head
    assert "docker compose exec clickhouse clickhouse-client" in head


def test_compose_api_and_worker_have_two_replicas(compose: dict[str, Any]) -> None:
    for name in VIDEOGEN_SERVICES:
        service = compose["services"][name]
        assert service["deploy"]["replicas"] == 2, name
        # Replicas cannot share a container name or a fixed host port.
        assert "container_name" not in service
        assert not service.get("ports"), f"{name}: publish through the gateway, not per replica"
    assert compose["services"]["worker"]["command"] == ["videogen", "worker"]
    assert compose["services"]["api"]["command"] == ["videogen", "api"]
    # One host port for both API replicas.
    gateway = compose["services"]["gateway"]
    assert any(str(p).endswith(":80") for p in gateway["ports"])
    assert "api:8000" in compose["configs"]["nginx-conf"]["content"]


def test_compose_env_names_are_settings(compose: dict[str, Any]) -> None:
    for name in VIDEOGEN_SERVICES:
        env = env_mapping(compose["services"][name]["environment"])
        assert env, name
        unknown = sorted(set(env) - SETTING_NAMES)
        assert not unknown, f"{name}: not fields of Settings: {unknown}"


def test_compose_env_values_parse_as_settings(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = env_mapping(compose["services"]["worker"]["environment"])
    settings = settings_from(env, monkeypatch)
    assert settings.kafka_bootstrap_servers == "kafka:9092"
    assert settings.s3_endpoint_url == "http://minio:9000"
    assert settings.clickhouse_url and settings.clickhouse_url.startswith("http://")
    assert settings.clickhouse_url.endswith("@clickhouse:8123/videogen")
    assert settings.host == "0.0.0.0" and settings.worker_web_host == "0.0.0.0"
    assert settings.kafka_topic_partitions == 4
    # The same settings for the API and the worker.
    assert env_mapping(compose["services"]["api"]["environment"]) == env


def test_compose_clickhouse_credentials_match_the_url(compose: dict[str, Any]) -> None:
    ch = compose["services"]["clickhouse"]["environment"]
    url = env_mapping(compose["services"]["api"]["environment"])["CLICKHOUSE_URL"]
    assert (
        url
        == f"http://{ch['CLICKHOUSE_USER']}:{ch['CLICKHOUSE_PASSWORD']}@clickhouse:8123/{ch['CLICKHOUSE_DB']}"
    )
    minio = compose["services"]["minio"]["environment"]
    env = env_mapping(compose["services"]["api"]["environment"])
    assert env["AWS_ACCESS_KEY_ID"] == minio["MINIO_ROOT_USER"]
    assert env["AWS_SECRET_ACCESS_KEY"] == minio["MINIO_ROOT_PASSWORD"]
    assert compose["services"]["minio-init"]["environment"]["BUCKET"] == env["S3_BUCKET_NAME"]


def test_compose_topics_created_with_one_partition_count(compose: dict[str, Any]) -> None:
    init = compose["services"]["kafka-init"]
    script = "\n".join(init["command"]) if isinstance(init["command"], list) else init["command"]

    loops = re.findall(r"for t in ([^;]+);", script)
    assert loops, "kafka-init creates the topics in loops"
    created = {topic for loop in loops for topic in loop.split()}
    created |= set(re.findall(r"--topic (videogen[-\w.]+)", script))
    assert created == EXPECTED_TOPICS

    # Every --create uses the same partition variable, and that variable is the app's count.
    creates = [ln for ln in script.splitlines() if "--create" in ln]
    assert len(creates) == 2
    assert all('--partitions "$n"' in ln for ln in creates)
    assert 'n="${KAFKA_TOPIC_PARTITIONS}"' in script
    assert "cleanup.policy=compact" in creates[1] and "changelog" in loops[1]

    app_partitions = env_mapping(compose["services"]["api"]["environment"])["KAFKA_TOPIC_PARTITIONS"]
    assert str(init["environment"]["KAFKA_TOPIC_PARTITIONS"]) == app_partitions == "4"
    # Topics the broker auto-creates (Faust's own) get the same count.
    assert str(compose["services"]["kafka"]["environment"]["KAFKA_NUM_PARTITIONS"]) == app_partitions


def test_compose_topics_match_the_code() -> None:
    topics = pytest.importorskip("streams.topics")
    assert set(topics.ALL_TOPICS) == EXPECTED_TOPICS


def test_compose_healthchecks_and_start_order(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("kafka", "clickhouse", "minio", "api", "worker", "gateway"):
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    # The worker's healthcheck is its own web server, not the API port.
    assert "WORKER_WEB_PORT" in " ".join(services["worker"]["healthcheck"]["test"])
    for name in VIDEOGEN_SERVICES:
        deps = services[name]["depends_on"]
        assert deps["kafka-init"]["condition"] == "service_completed_successfully"
        assert deps["minio-init"]["condition"] == "service_completed_successfully"
        assert deps["clickhouse"]["condition"] == "service_healthy"
    assert services["kafka-init"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert services["minio-init"]["depends_on"]["minio"]["condition"] == "service_healthy"
    assert services["gateway"]["depends_on"]["api"]["condition"] == "service_healthy"


def _duration_seconds(text: str) -> float:
    units = {"h": 3600, "m": 60, "s": 1}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)([hms])", text))


def test_compose_worker_grace_outlasts_a_render(compose: dict[str, Any]) -> None:
    worker = compose["services"]["worker"]
    timeout_min = float(env_mapping(worker["environment"])["PROCESSING_TIMEOUT_MINUTES"])
    assert _duration_seconds(worker["stop_grace_period"]) >= timeout_min * 60


# ---------------------------------------------------------------- deploy/k8s


def test_every_manifest_parses_and_is_accounted_for(kustomization: dict[str, Any]) -> None:
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    listed = set(kustomization["resources"])
    assert listed <= files, f"missing: {listed - files}"
    assert files - listed == OPTIONAL_MANIFESTS
    for name in sorted(files):
        docs = load_manifests(K8S / name)
        assert docs, name
        for doc in docs:
            assert doc.get("apiVersion") and doc.get("kind") and doc["metadata"].get("name"), name
    assert kustomization["namespace"] == "videogen"
    assert [i["name"] for i in kustomization["images"]] == ["videogen"]


def test_k8s_has_the_essential_objects(manifests: list[dict[str, Any]]) -> None:
    kinds = {(d["kind"], d["metadata"]["name"]) for d in manifests}
    for needed in [
        ("Namespace", "videogen"),
        ("ConfigMap", "videogen-config"),
        ("Deployment", "videogen-api"),
        ("Service", "videogen-api"),
        ("Deployment", "videogen-worker"),
        ("HorizontalPodAutoscaler", "videogen-worker"),
        ("PodDisruptionBudget", "videogen-api"),
        ("PodDisruptionBudget", "videogen-worker"),
    ]:
        assert needed in kinds, needed
    # The Secret is a template outside the kustomization: applying must never overwrite the real one.
    assert not any(d["kind"] == "Secret" for d in manifests)


def test_k8s_env_names_are_settings(manifests: list[dict[str, Any]]) -> None:
    names = set(configmap_env(manifests))
    secret = load_manifests(K8S / "secret.example.yaml")[0]
    assert secret["kind"] == "Secret" and secret["metadata"]["name"] == "videogen-secrets"
    names |= set(secret["stringData"])
    for d in manifests:
        if d["kind"] == "Deployment":
            for c in containers(d):
                names |= {e["name"] for e in c.get("env", [])}
    unknown = sorted(names - SETTING_NAMES)
    assert not unknown, f"not fields of Settings: {unknown}"
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "CLICKHOUSE_URL"} <= set(secret["stringData"])
    # Credentials only in the Secret.
    assert not {"AWS_SECRET_ACCESS_KEY", "CLICKHOUSE_URL"} & set(configmap_env(manifests))
    assert all("REPLACE" in v for v in secret["stringData"].values()), "placeholders only"


def test_k8s_config_values_parse_as_settings(
    manifests: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = load_manifests(K8S / "secret.example.yaml")[0]["stringData"]
    settings = settings_from({**configmap_env(manifests), **secret}, monkeypatch)
    assert settings.host == "0.0.0.0"
    assert settings.worker_web_host == "0.0.0.0"
    assert settings.kafka_topic_partitions >= 2


def test_k8s_deployments_probes_resources_security(manifests: list[dict[str, Any]]) -> None:
    config = configmap_env(manifests)
    api = find(manifests, "Deployment", "videogen-api")
    worker = find(manifests, "Deployment", "videogen-worker")
    assert api["spec"]["replicas"] == 2

    expectations = {
        "videogen-api": (api, ["videogen", "api"], int(config["PORT"])),
        "videogen-worker": (worker, ["videogen", "worker"], int(config["WORKER_WEB_PORT"])),
    }
    for name, (deployment, args, port) in expectations.items():
        pod = deployment["spec"]["template"]["spec"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= (
            deployment["spec"]["template"]["metadata"]["labels"].items()
        )
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        (c,) = containers(deployment)
        # args, not command: the image's tini ENTRYPOINT stays in front.
        assert c["args"] == args and "command" not in c, name
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        for probe in ("livenessProbe", "startupProbe"):
            get = c[probe]["httpGet"]
            assert get["path"] == "/health", (name, probe)
            assert ports[get["port"]] == port, (name, probe)
        assert c["resources"]["requests"]["cpu"] and c["resources"]["requests"]["memory"]
        assert c["resources"]["limits"]["memory"]
        assert c["securityContext"]["allowPrivilegeEscalation"] is False
        refs = {(k, v["name"]) for src in c["envFrom"] for k, v in src.items()}
        assert refs == {("configMapRef", "videogen-config"), ("secretRef", "videogen-secrets")}
        mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
        assert config["DATA_DIR"] in mounts, f"{name}: DATA_DIR must be writable"

    (api_c,) = containers(api)
    assert api_c["readinessProbe"]["httpGet"]["path"] == "/health"
    service = find(manifests, "Service", "videogen-api")
    assert service["spec"]["selector"] == api["spec"]["selector"]["matchLabels"]

    # Long enough for a render to finish after SIGTERM.
    grace = worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace >= float(config["PROCESSING_TIMEOUT_MINUTES"]) * 60


def test_k8s_worker_scaling_bounded_by_partitions(manifests: list[dict[str, Any]]) -> None:
    partitions = int(configmap_env(manifests)["KAFKA_TOPIC_PARTITIONS"])
    worker = find(manifests, "Deployment", "videogen-worker")
    hpa = find(manifests, "HorizontalPodAutoscaler", "videogen-worker")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "videogen-worker"
    assert hpa["spec"]["minReplicas"] == 2
    assert 2 <= hpa["spec"]["maxReplicas"] <= partitions
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
    # The HPA owns the count: a `replicas` here would reset it on every apply.
    assert "replicas" not in worker["spec"]

    keda = load_manifests(K8S / "worker-keda-scaledobject.yaml")[0]
    assert keda["kind"] == "ScaledObject"
    assert keda["spec"]["scaleTargetRef"]["name"] == "videogen-worker"
    assert keda["spec"]["minReplicaCount"] == 2
    assert keda["spec"]["maxReplicaCount"] <= partitions
    kafka = [t for t in keda["spec"]["triggers"] if t["type"] == "kafka"]
    assert kafka
    for t in kafka:
        assert t["metadata"]["consumerGroup"] == "videogen"
        assert t["metadata"]["topic"] in EXPECTED_TOPICS
        assert t["metadata"]["bootstrapServers"] == configmap_env(manifests)["KAFKA_BOOTSTRAP_SERVERS"]


def test_k8s_pdbs_select_the_pods(manifests: list[dict[str, Any]]) -> None:
    for name in ("videogen-api", "videogen-worker"):
        pdb = find(manifests, "PodDisruptionBudget", name)
        deployment = find(manifests, "Deployment", name)
        assert pdb["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]


# ---------------------------------------------------------------- real clients, where present


def _docker_compose_works() -> bool:
    if not shutil.which("docker"):
        return False
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, check=False)
    return probe.returncode == 0


@pytest.mark.skipif(not _docker_compose_works(), reason="no `docker compose` client here")
def test_docker_compose_config_parses() -> None:
    run = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE), "config", "-q"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr


@pytest.mark.skipif(not shutil.which("kubectl"), reason="no kubectl here")
def test_kustomize_builds() -> None:
    run = subprocess.run(
        ["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, check=False, timeout=60
    )
    assert run.returncode == 0, run.stderr
    docs = [d for d in yaml.safe_load_all(run.stdout) if d]
    assert all(d["metadata"].get("namespace") == "videogen" for d in docs if d["kind"] != "Namespace")
    images = {
        c["image"]
        for d in docs
        if d["kind"] == "Deployment"
        for c in d["spec"]["template"]["spec"]["containers"]
    }
    assert images == {"registry.example.com/videogen:0.1.0"}
