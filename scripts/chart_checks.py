#!/usr/bin/env python3
"""Checks of chart/ and Dockerfile that need no cluster and no Docker engine: render the chart
offline (helm-python-sdk), lint it, validate every rendered object against Kubernetes 1.30
(kubernetes-validate --strict), assert what the chart promises, and run hadolint.
Run by scripts/test-chart, which provides the virtualenv."""
import base64
import os
import subprocess
import sys
import tempfile
import traceback

import helm_python
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHART = os.path.join(ROOT, "chart")
BIN = os.path.dirname(sys.executable)
CHECKS = []


def check(function):
    CHECKS.append(function)
    return function


def render(values=None):
    """Rendered objects of the chart, by (kind, name)."""
    manifests = helm_python.Chart.load(CHART).render(values or {}, name="rc", namespace="rollcall")
    objects = {}
    for path, text in manifests.items():
        if not path.endswith(".yaml"):
            continue
        for document in yaml.safe_load_all(text):
            if document:
                objects[(document["kind"], document["metadata"]["name"])] = document
    return objects, manifests


def of_kind(objects, kind):
    return {name: obj for (k, name), obj in objects.items() if k == kind}


def container(objects, kind, name):
    return objects[(kind, name)]["spec"]["template"]["spec"]["containers"][0]


def env(container_spec):
    return {e["name"]: e for e in container_spec.get("env", [])}


def kubernetes_validate(manifests):
    with tempfile.TemporaryDirectory() as directory:
        paths = []
        for index, (path, text) in enumerate(manifests.items()):
            if path.endswith(".yaml") and text.strip():
                paths.append(os.path.join(directory, f"{index}.yaml"))
                with open(paths[-1], "w") as file:
                    file.write(text)
        result = subprocess.run([os.path.join(BIN, "kubernetes-validate"), "-k", "1.30.0", "--strict", *paths],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


VALUE_SETS = {
    "defaults": {},
    "scaled": {"worker": {"replicaCount": 7}, "controlPlane": {"replicas": 3}},
    "external": {"redis": {"external": {"url": "redis://cache.example:6379/2"}},
                 "postgresql": {"external": {"url": "postgres://app@db.example:5432/inbox"}}},
}


@check
def lint_is_clean():
    report = helm_python.lint(CHART, strict=True, kube_version="v1.30.0")
    problems = [m for m in report["messages"] if m["severity"] >= 2] + report["errors"]
    assert not problems, problems


@check
def every_rendering_validates_against_kubernetes_1_30():
    for name, values in VALUE_SETS.items():
        _, manifests = render(values)
        kubernetes_validate(manifests)


@check
def defaults_deploy_everything_with_the_documented_replicas():
    objects, _ = render()
    assert objects[("Deployment", "rc-rollcall-control-plane")]["spec"]["replicas"] == 2
    assert objects[("Deployment", "rc-rollcall-worker")]["spec"]["replicas"] == 3
    assert set(of_kind(objects, "StatefulSet")) == {"rc-rollcall-redis", "rc-rollcall-postgresql"}
    assert set(of_kind(objects, "Service")) == {"rc-rollcall-control-plane", "rc-rollcall-redis", "rc-rollcall-postgresql"}
    assert objects[("PodDisruptionBudget", "rc-rollcall-control-plane")]["spec"]["minAvailable"] == 1
    strategy = objects[("Deployment", "rc-rollcall-control-plane")]["spec"]["strategy"]
    assert strategy["type"] == "RollingUpdate" and strategy["rollingUpdate"]["maxUnavailable"] == 0
    for name in ("rc-rollcall-redis", "rc-rollcall-postgresql"):
        assert objects[("StatefulSet", name)]["spec"]["volumeClaimTemplates"], f"{name} has no persistent volume"


@check
def replica_counts_follow_the_values():
    objects, _ = render(VALUE_SETS["scaled"])
    assert objects[("Deployment", "rc-rollcall-worker")]["spec"]["replicas"] == 7
    assert objects[("Deployment", "rc-rollcall-control-plane")]["spec"]["replicas"] == 3


@check
def external_redis_and_postgres_replace_the_statefulsets():
    objects, _ = render(VALUE_SETS["external"])
    assert not of_kind(objects, "StatefulSet")
    assert env(container(objects, "Deployment", "rc-rollcall-control-plane"))["REDIS_URL"]["value"] == "redis://cache.example:6379/2"
    assert env(container(objects, "Deployment", "rc-rollcall-worker"))["DATABASE_URL"]["value"] == "postgres://app@db.example:5432/inbox"
    assert set(objects[("Secret", "rc-rollcall")]["data"]) == {"auth-token"}


@check
def the_environment_of_design_is_wired():
    objects, _ = render()
    control_plane = env(container(objects, "Deployment", "rc-rollcall-control-plane"))
    for name in ("HOST", "PORT", "REDIS_URL", "AUTH_TOKEN", "LEASE_TTL", "HEARTBEAT_INTERVAL", "NUMBER_QUARANTINE",
                 "PARTITIONS", "MAX_WORKERS", "EPSILON", "CONSUMER_GROUP_PREFIX"):
        assert name in control_plane, name
    assert control_plane["PORT"]["value"] == "8080" and control_plane["LEASE_TTL"]["value"] == "10s"
    assert control_plane["REDIS_URL"]["value"] == "redis://:$(REDIS_PASSWORD)@rc-rollcall-redis:6379"
    worker = env(container(objects, "Deployment", "rc-rollcall-worker"))
    assert worker["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert worker["CONTROL_PLANE_URL"]["value"] == "http://rc-rollcall-control-plane:8080"
    assert worker["PORT"]["value"] == "8081"
    assert worker["DATABASE_URL"]["value"] == "postgres://rollcall:$(POSTGRES_PASSWORD)@rc-rollcall-postgresql:5432/rollcall"
    assert worker["AUTH_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "rc-rollcall", "key": "auth-token"}
    # $(VAR) expands only variables defined earlier in the list.
    names = [e["name"] for e in container(objects, "Deployment", "rc-rollcall-worker")["env"]]
    assert names.index("POSTGRES_PASSWORD") < names.index("DATABASE_URL")


@check
def redis_persists_and_never_evicts_lease_state():
    objects, _ = render()
    command = " ".join(container(objects, "StatefulSet", "rc-rollcall-redis")["command"])
    # An evicted lease key looks like a free number: Rollcall's promises need every key kept.
    assert "--appendonly yes" in command and "--maxmemory-policy noeviction" in command, command


@check
def probes_and_drain_time():
    objects, _ = render()
    for name, port in (("rc-rollcall-control-plane", 8080), ("rc-rollcall-worker", 8081)):
        spec = container(objects, "Deployment", name)
        assert spec["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        assert spec["livenessProbe"]["httpGet"]["path"] == "/healthz", name
        assert spec["ports"][0]["containerPort"] == port
    assert objects[("Deployment", "rc-rollcall-worker")]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 5


@check
def no_secret_takes_a_default_password_from_values():
    with open(os.path.join(CHART, "values.yaml")) as file:
        values_text = file.read()
    first, _ = render()
    second, _ = render()
    data = first[("Secret", "rc-rollcall")]["data"]
    assert set(data) == {"auth-token", "redis-password", "postgres-password"}
    for key, encoded in data.items():
        secret = base64.b64decode(encoded).decode()
        assert len(secret) >= 32, key
        assert secret not in values_text, key
        assert secret != base64.b64decode(second[("Secret", "rc-rollcall")]["data"][key]).decode(), f"{key} is not generated"
    for walk in yaml.safe_load(values_text).values():
        assert "password" not in str(walk).lower().replace("existingsecretkey", "").replace("-password", ""), walk


@check
def existing_secrets_are_used_instead_of_generated_ones():
    objects, _ = render({"auth": {"existingSecret": "mine"}, "redis": {"auth": {"existingSecret": "mine"}},
                         "postgresql": {"auth": {"existingSecret": "mine"}}})
    assert not of_kind(objects, "Secret")
    worker = env(container(objects, "Deployment", "rc-rollcall-worker"))
    assert worker["AUTH_TOKEN"]["valueFrom"]["secretKeyRef"]["name"] == "mine"


@check
def every_pod_runs_non_root_read_only_without_capabilities():
    objects, _ = render()
    pods = [obj["spec"]["template"]["spec"] for (kind, _), obj in objects.items() if kind in ("Deployment", "StatefulSet")]
    pods.append(objects[("Pod", "rc-rollcall-test-readyz")]["spec"])
    for pod in pods:
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        for spec in pod["containers"]:
            context = spec["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, spec["name"]
            assert context["allowPrivilegeEscalation"] is False, spec["name"]
            assert context["capabilities"]["drop"] == ["ALL"], spec["name"]


@check
def every_object_has_the_recommended_labels():
    objects, _ = render()
    for (kind, name), obj in objects.items():
        labels = obj["metadata"]["labels"]
        for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component",
                    "app.kubernetes.io/version", "app.kubernetes.io/managed-by"):
            assert key in labels, f"{kind}/{name} lacks {key}"


@check
def helm_test_pod_checks_readyz():
    objects, _ = render()
    pod = objects[("Pod", "rc-rollcall-test-readyz")]
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert pod["spec"]["containers"][0]["command"][-1] == "http://rc-rollcall-control-plane:8080/readyz"


@check
def notes_tell_how_to_watch_and_scale():
    _, manifests = render()
    notes = manifests["rollcall/templates/NOTES.txt"]
    assert "redis-cli hgetall workers" in notes and "worker.replicaCount" in notes


@check
def the_schema_rejects_wrong_types_and_unknown_keys():
    for bad in ({"worker": {"replicaCount": "three"}}, {"controlPlane": {"replicas": 0}}, {"unknownKey": 1},
                {"controlPlane": {"leaseTTL": "ten seconds"}}, {"redis": {"external": {"url": "http://x"}}}):
        try:
            render(bad)
        except helm_python.HelmValuesError:
            continue
        raise AssertionError(f"schema accepted {bad}")


@check
def hadolint_passes_on_the_dockerfile():
    result = subprocess.run([os.path.join(BIN, "hadolint"), "--config", os.path.join(ROOT, ".hadolint.yaml"),
                             os.path.join(ROOT, "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


if __name__ == "__main__":
    passed = failed = 0
    for function in CHECKS:
        try:
            function()
            passed += 1
            print(f"ok   {function.__name__}")
        except Exception:
            failed += 1
            print(f"FAIL {function.__name__}")
            traceback.print_exc()
    print(f"chart: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
