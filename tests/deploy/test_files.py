"""What cannot run here, checked against what it must be: Kubernetes schemas, the compose
file's shape, the Prometheus rules with promtool, the dashboard against /metrics, the
Caddyfile with Caddy, and the configuration guide against the settings model."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.deploy.stack import DEPLOY, compose, env_example
from voicebridge import settings_doc
from voicebridge.app import create_app
from voicebridge.config import Settings, StorageSettings
from voicebridge.jobs.probe import make_app
from voicebridge.metrics import events_registry

KUBERNETES_VERSION = "1.30.0"
KUBE = DEPLOY / "kubernetes"

# The part of the Prometheus Operator's ServiceMonitor schema (monitoring.coreos.com/v1)
# that our manifest uses, written from its API reference; anything else is refused.
SERVICE_MONITOR = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": {"type": "object", "required": ["name"]},
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["selector", "endpoints"],
            "properties": {
                "selector": {
                    "type": "object",
                    "properties": {"matchLabels": {"type": "object"}},
                    "additionalProperties": False,
                },
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["port"],
                        "properties": {
                            "port": {"type": "string"},
                            "path": {"type": "string"},
                            "interval": {"type": "string", "pattern": r"^([0-9]+(ms|s|m|h))+$"},
                            "authorization": {
                                "type": "object",
                                "additionalProperties": False,
                                "properties": {
                                    "type": {"type": "string"},
                                    "credentials": {
                                        "type": "object",
                                        "additionalProperties": False,
                                        "required": ["name", "key"],
                                        "properties": {
                                            "name": {"type": "string"},
                                            "key": {"type": "string"},
                                        },
                                    },
                                },
                            },
                            "scrapeTimeout": {
                                "type": "string",
                                "pattern": r"^([0-9]+(ms|s|m|h))+$",
                            },
                        },
                    },
                },
            },
        },
    },
}


# --- Kubernetes --------------------------------------------------------------------


def _render(path: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl (with its built-in kustomize) is not installed")
    out = subprocess.run(
        [kubectl, "kustomize", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


@pytest.fixture(scope="module", params=["base", "overlays/production"])
def manifests(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return _render(KUBE / request.param)


def test_every_manifest_matches_the_kubernetes_schemas(manifests: list[dict[str, Any]]) -> None:
    for doc in manifests:
        if doc["apiVersion"].startswith("monitoring.coreos.com/"):
            jsonschema.validate(doc, SERVICE_MONITOR)
            continue
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def _by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def test_workloads_are_probed_sized_and_unprivileged(manifests: list[dict[str, Any]]) -> None:
    deployments = _by_kind(manifests, "Deployment")
    api = deployments["voicebridge-api"]["spec"]["template"]["spec"]
    [container] = api["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert "--no-migrate" in container["args"]
    assert "voicebridge migrate --check" in " ".join(api["initContainers"][0]["command"])
    worker = deployments["voicebridge-worker"]["spec"]["template"]["spec"]["containers"][0]
    assert worker["livenessProbe"]["httpGet"]["path"] == "/healthz"
    pods = [d["spec"]["template"]["spec"] for d in deployments.values()]
    pods += [j["spec"]["template"]["spec"] for j in _by_kind(manifests, "Job").values()]
    pods += [
        c["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        for c in _by_kind(manifests, "CronJob").values()
    ]
    for pod in pods:
        assert pod["securityContext"]["runAsNonRoot"] is True
        for c in pod.get("initContainers", []) + pod["containers"]:
            assert c["resources"]["requests"]["memory"]
            assert c["resources"]["limits"]["memory"]
            assert c["securityContext"]["allowPrivilegeEscalation"] is False
            assert c["securityContext"]["readOnlyRootFilesystem"] is True
            # Secrets are referenced, never inlined.
            refs = [e for e in c["envFrom"] if "secretRef" in e]
            assert refs == [{"secretRef": {"name": "voicebridge-secrets"}}]
    assert not _by_kind(manifests, "Secret")


def test_autoscaling_disruption_network_and_monitoring(manifests: list[dict[str, Any]]) -> None:
    hpas = _by_kind(manifests, "HorizontalPodAutoscaler")
    assert hpas["voicebridge-api"]["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    external = hpas["voicebridge-worker"]["spec"]["metrics"][0]["external"]
    assert external["metric"]["name"] == "voicebridge_jobs_due"
    assert external["metric"]["selector"]["matchLabels"] == {"kind": "audio.process"}
    pdbs = _by_kind(manifests, "PodDisruptionBudget")
    assert set(pdbs) == {"voicebridge-api", "voicebridge-worker"}
    policies = _by_kind(manifests, "NetworkPolicy")
    assert policies["voicebridge-default-deny"]["spec"]["policyTypes"] == ["Ingress", "Egress"]
    [monitor] = _by_kind(manifests, "ServiceMonitor").values()
    assert {e["port"] for e in monitor["spec"]["endpoints"]} == {"http", "metrics"}
    ports = {p["name"] for s in _by_kind(manifests, "Service").values() for p in s["spec"]["ports"]}
    assert {"http", "metrics"} <= ports
    for ingress in _by_kind(manifests, "Ingress").values():
        annotations = ingress["metadata"]["annotations"]
        assert annotations["nginx.ingress.kubernetes.io/proxy-request-buffering"] == "off"


def test_the_production_overlay_changes_what_it_says() -> None:
    production = _render(KUBE / "overlays/production")
    assert {d["metadata"].get("namespace") for d in production if d["kind"] != "Namespace"} == {
        "voicebridge"
    }
    hpa = _by_kind(production, "HorizontalPodAutoscaler")["voicebridge-api"]
    assert hpa["spec"]["minReplicas"] == 3
    egress = _by_kind(production, "NetworkPolicy")["voicebridge-egress"]["spec"]["egress"]
    assert egress[1]["to"][0]["ipBlock"]["cidr"] != "192.0.2.10/32"


# --- compose -------------------------------------------------------------------------


def test_compose_starts_everything_in_order_with_state_on_volumes() -> None:
    data = compose()
    services = data["services"]
    expected = {"postgres", "seaweedfs", "migrate", "api", "worker", "caddy", "prometheus"}
    assert expected | {"grafana", "alertmanager"} <= set(services)
    api, worker, migrate = services["api"], services["worker"], services["migrate"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("api", "worker"):
        needs = services[name]["depends_on"]
        assert needs["migrate"]["condition"] == "service_completed_successfully"
        assert needs["seaweedfs"]["condition"] == "service_healthy"
    assert services["caddy"]["depends_on"]["api"]["condition"] == "service_healthy"
    assert "--workers" in api["command"]
    assert "--no-migrate" in api["command"]
    assert worker["command"] == ["worker"]
    for name, service in services.items():
        if name != "migrate" and "backup" not in service.get("profiles", []):
            assert "test" in service["healthcheck"], f"{name} has no healthcheck"
    weed = services["seaweedfs"]["command"]
    assert "-s3.encryptVolumeData" in weed
    assert "-filer.encryptVolumeData" in weed
    declared = set(data["volumes"])
    used = {
        v.split(":")[0]
        for s in services.values()
        for v in s.get("volumes", [])
        if not v.startswith(".")
    }
    assert used == declared
    for state in ("postgres", "seaweedfs", "caddy", "prometheus", "grafana"):
        assert any(not v.startswith(".") for v in services[state]["volumes"]), state
    # Every file the compose file mounts exists.
    for s in services.values():
        for v in s.get("volumes", []):
            if v.startswith("."):
                assert (DEPLOY / v.split(":")[0]).exists(), v


def test_the_example_env_names_only_real_settings() -> None:
    known = settings_doc.every_variable()
    for key in env_example():
        if key.startswith("VOICEBRIDGE_"):
            assert key in known, f"{key} is not a setting"


def test_the_caddyfile_adapts_for_production_and_for_loopback() -> None:
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.skip("caddy is not installed")
    caddyfile = str(DEPLOY / "caddy" / "Caddyfile")
    for env in (
        {"SITE_DOMAIN": "voice.example.org", "SITE_S3_DOMAIN": "s3.example.org"},
        {"SITE_DOMAIN": "localhost:8443", "CADDY_LOCAL_CERTS": "local_certs"},
    ):
        done = subprocess.run(
            [caddy, "adapt", "--config", caddyfile, "--adapter", "caddyfile"],
            capture_output=True,
            text=True,
            env={"PATH": "/usr/bin:/bin", **env},
        )
        assert done.returncode == 0, done.stderr
        config = json.loads(done.stdout.splitlines()[0])
        assert "http" in config["apps"]


# --- Prometheus and Grafana -----------------------------------------------------------


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.skip("promtool is not installed (Debian's prometheus package; .ci/run installs it)")
    return found


def test_promtool_accepts_the_rules_and_the_critical_help_alert_passes_its_tests() -> None:
    promtool = _promtool()
    prom = DEPLOY / "prometheus"
    for args in (["check", "rules", "alerts.yaml"], ["test", "rules", "alerts.test.yaml"]):
        done = subprocess.run([promtool, *args], cwd=prom, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_accepts_the_prometheus_configuration(tmp_path: Path) -> None:
    promtool = _promtool()
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    shutil.copy(DEPLOY / "prometheus" / "alerts.yaml", tmp_path / "alerts.yaml")
    config["rule_files"] = [str(tmp_path / "alerts.yaml")]
    # The API's metrics token is compose's secret file (/run/secrets/<name>); here a stand-in.
    token = tmp_path / "metrics_token"
    token.write_text("t" * 48)
    secrets = set(compose()["secrets"])
    for job in config["scrape_configs"]:
        credentials = job.get("authorization", {}).get("credentials_file")
        if credentials is not None:
            assert credentials.removeprefix("/run/secrets/") in secrets, credentials
            job["authorization"]["credentials_file"] = str(token)
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    done = subprocess.run(
        [promtool, "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


_SUFFIXES = ("_bucket", "_sum", "_count", "_total", "_created")
_FUNCTIONS = {"by", "without", "on", "ignoring", "group_left", "group_right", "le"}


def _metric_names(expr: str) -> set[str]:
    return set(re.findall(r"\b(voicebridge_[a-z0-9_]+)", expr))


def _family(name: str) -> str:
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Every family the API's /metrics and a worker's /metrics export."""
    tmp = tmp_path_factory.mktemp("metrics")
    settings = Settings(
        database_url=f"sqlite:///{tmp / 'db.sqlite'}",
        data_dir=tmp,
        storage=StorageSettings(local_path=tmp / "objects"),
    )
    from voicebridge.migrate import upgrade

    upgrade(settings.database_url)
    settings.jobs.in_process_worker = False
    with TestClient(create_app(settings)) as client:
        body = client.get("/metrics").text
    families = {f.name for f in text_string_to_metric_families(body)}

    class _Worker:
        heartbeat = 0.0

    app = make_app(_Worker(), stale_after=10)  # type: ignore[arg-type]
    chunks = app({"PATH_INFO": "/metrics"}, lambda *_: None)
    families |= {f.name for f in text_string_to_metric_families(b"".join(chunks).decode())}
    assert events_registry() is not None
    return families


def _queried(expr: str) -> set[str]:
    return {_family(n) for n in _metric_names(expr)}


def test_every_metric_the_dashboard_queries_is_exported(exported: set[str]) -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "voicebridge.json").read_text())
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert len(exprs) >= 20
    queried = set().union(*map(_queried, exprs))
    assert queried - exported == set()
    # The dashboard shows what the issue asks to watch.
    for needed in (
        "voicebridge_http_request_seconds",
        "voicebridge_jobs_due",
        "voicebridge_jobs_oldest_due_seconds",
        "voicebridge_jobs_dead",
        "voicebridge_upload_bytes",
        "voicebridge_transcode_realtime_factor",
        "voicebridge_help_requests_waiting",
        "voicebridge_help_time_to_first_offer_seconds",
        "voicebridge_help_escalations",
        "voicebridge_notification_deliveries",
    ):
        assert needed in queried, needed


def test_every_metric_the_alerts_use_is_exported(exported: set[str]) -> None:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yaml").read_text())
    exprs = [r["expr"] for g in rules["groups"] for r in g["rules"]]
    assert set().union(*map(_queried, exprs)) - exported == set()
    names = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    pages = {
        r["alert"] for g in rules["groups"] for r in g["rules"] if r["labels"]["severity"] == "page"
    }
    assert {"CriticalHelpRequestWaiting", "HelpEscalatedToSchool", "DeadLetters"} <= pages
    assert {"JobQueueStuck", "ApiNotReady"} <= pages <= names
    # Every runbook link lands on a heading of deploy/README.md.
    headings = {
        re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in (DEPLOY / "README.md").read_text().splitlines()
        if line.startswith("#")
    }
    for group in rules["groups"]:
        for rule in group["rules"]:
            runbook = rule["annotations"].get("runbook")
            if runbook:
                assert runbook.split("#")[1] in headings, runbook


# --- the configuration guide ----------------------------------------------------------


def test_the_configuration_guide_is_generated_from_the_settings() -> None:
    committed = (DEPLOY / "CONFIGURATION.md").read_text()
    assert committed == settings_doc.markdown(), (
        "run: voicebridge settings > deploy/CONFIGURATION.md"
    )


def test_every_setting_says_what_it_means() -> None:
    for group in settings_doc.groups():
        assert group.description, group.title
        for entry in group.entries:
            assert entry.description, f"{entry.variable} needs a docstring in its settings class"
