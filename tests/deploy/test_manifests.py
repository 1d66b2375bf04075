"""The Kubernetes manifests (deploy/kubernetes/): consistent with the image and the
settings, valid against the Kubernetes schemas (kubernetes-validate), and clean under
the policy scanner (checkov), each exception justified in the manifest.

The validators live in .venv-deploy (``scripts/image.sh deps`` installs them), apart
from the service's dependencies; without it those two tests skip and say so."""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from facematch.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "deploy" / "kubernetes"
VENV = ROOT / ".venv-deploy" / "bin"
KUBERNETES_VERSION = "1.30.0"


def load() -> dict[str, dict]:
    docs: dict[str, dict] = {}
    for path in sorted(MANIFESTS.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            assert doc["kind"] not in docs, f"two {doc['kind']} objects"
            docs[doc["kind"]] = doc
    return docs


def setting_names() -> set[str]:
    names = set()
    for name, field in Settings.model_fields.items():
        sub = getattr(field.annotation, "model_fields", None)
        if sub:
            names |= {f"FACEMATCH_{name}__{s}".upper() for s in sub}
        else:
            names.add(f"FACEMATCH_{name}".upper())
    return names


def container(docs: dict[str, dict]) -> dict:
    (c,) = docs["Deployment"]["spec"]["template"]["spec"]["containers"]
    return c


def test_every_object_the_deployment_needs_is_there():
    docs = load()
    assert set(docs) >= {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy",
                         "Secret", "ConfigMap"}
    assert {d["metadata"].get("namespace") for k, d in docs.items() if k != "Namespace"} == {"facematch"}


def test_settings_are_real_settings_and_production_safe():
    docs = load()
    names = setting_names()
    config = docs["ConfigMap"]["data"]
    secret = docs["Secret"]["stringData"]
    assert set(config) | set(secret) <= names, sorted((set(config) | set(secret)) - names)
    assert set(secret) == {"FACEMATCH_DATABASE_URL"} and secret["FACEMATCH_DATABASE_URL"].startswith("postgresql://")
    # Production settings are accepted by the service itself (a demo key would be refused).
    env = {k.removeprefix("FACEMATCH_").lower(): v for k, v in {**config, **secret}.items()}
    settings = Settings(**env)
    assert settings.env == "production" and settings.demo_key is False


def test_the_pod_runs_the_image_as_its_unprivileged_user_on_a_read_only_root():
    docs = load()
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    user = re.search(r"^USER (\d+):(\d+)$", dockerfile, re.M)
    cmd = re.search(r"^CMD (\[.*\])$", dockerfile, re.M)
    assert user and cmd
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    c = container(docs)
    assert c["args"] == json.loads(cmd.group(1))
    for ctx in (pod["securityContext"], c["securityContext"]):
        assert ctx["runAsNonRoot"] is True
        assert (ctx["runAsUser"], ctx["runAsGroup"]) == (int(user.group(1)), int(user.group(2)))
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]
    data_dir = re.search(r"FACEMATCH_DATA_DIR=(\S+)", dockerfile)
    assert data_dir and data_dir.group(1) in mounts


def test_probes_resources_and_ports_hold_together():
    docs = load()
    c = container(docs)
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    (port,) = c["ports"]
    assert str(port["containerPort"]) == c["args"][c["args"].index("--port") + 1]
    assert docs["Service"]["spec"]["ports"][0]["targetPort"] == port["name"]
    res = c["resources"]
    assert res["requests"]["memory"] == "512Mi" and res["limits"]["memory"] == "768Mi"
    labels = docs["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert docs["Deployment"]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert docs["Service"]["spec"]["selector"].items() <= labels.items()
    assert docs["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert docs["NetworkPolicy"]["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    target = docs["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", docs["Deployment"]["metadata"]["name"])
    assert docs["PodDisruptionBudget"]["spec"]["minAvailable"] < docs["HorizontalPodAutoscaler"]["spec"]["minReplicas"]


def test_network_policy_lets_out_only_dns_postgres_and_the_url_allowlist():
    docs = load()
    spec = docs["NetworkPolicy"]["spec"]
    assert set(spec["policyTypes"]) == {"Ingress", "Egress"}
    (ingress,) = spec["ingress"]
    assert [p["port"] for p in ingress["ports"]] == [container(docs)["ports"][0]["containerPort"]]
    assert all("ipBlock" not in peer for peer in ingress["from"])  # pods of the gateway, no address range
    ports = [sorted(p["port"] for p in rule["ports"]) for rule in spec["egress"]]
    assert ports == [[53, 53], [5432], [80, 443]]
    allowlist = Settings(url_allowlist=docs["ConfigMap"]["data"]["FACEMATCH_URL_ALLOWLIST"]).url_allowlist
    cidrs = {str(ipaddress.ip_network(e)) for e in allowlist}
    assert {peer["ipBlock"]["cidr"] for peer in spec["egress"][2]["to"]} == cidrs


def tool(name: str) -> Path:
    path = VENV / name
    if not path.exists():
        pytest.skip(f"{name} is not installed in .venv-deploy (bash scripts/image.sh deps installs it)")
    return path


def kubernetes_validate(*files: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(tool("kubernetes-validate")), "--strict", "--kubernetes-version", KUBERNETES_VERSION,
                           *files], capture_output=True, text=True, check=False)


def test_manifests_pass_the_kubernetes_schemas():
    files = sorted(str(p) for p in MANIFESTS.glob("*.yaml"))
    r = kubernetes_validate(*files)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert out.count("passed for resource") == len(load()), out


def test_the_schema_check_catches_a_misspelt_field(tmp_path):
    broken = (MANIFESTS / "deployment.yaml").read_text(encoding="utf-8").replace("readOnlyRootFilesystem",
                                                                                 "readOnlyRootFileSystem")
    (tmp_path / "deployment.yaml").write_text(broken, encoding="utf-8")
    r = kubernetes_validate(str(tmp_path / "deployment.yaml"))
    assert r.returncode != 0 and "readOnlyRootFileSystem" in r.stdout + r.stderr


def test_manifests_pass_checkov_with_every_exception_justified():
    checkov = tool("checkov")
    r = subprocess.run([str(checkov), "--directory", str(MANIFESTS), "--framework", "kubernetes", "--output", "json",
                        "--compact", "--skip-download"],
                       capture_output=True, text=True, check=False, cwd=ROOT)
    report = json.loads(r.stdout)
    summary = report["summary"]
    failed = [(c["check_id"], c["check_name"], c["file_path"]) for c in report["results"]["failed_checks"]]
    assert summary["failed"] == 0 and not failed, failed
    assert summary["passed"] >= 80, summary  # the Deployment alone answers 60-odd checks
    for skipped in report["results"]["skipped_checks"]:
        reason = skipped["check_result"].get("suppress_comment", "")
        assert len(reason) > 40, f"{skipped['check_id']} skipped without a reason: {reason!r}"
    assert r.returncode == 0, r.stderr
