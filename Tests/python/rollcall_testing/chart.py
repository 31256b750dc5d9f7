"""The Helm chart, rendered offline (helm-python-sdk) and validated against Kubernetes 1.30
(kubernetes-validate --strict): shared by the chart checks and the image checks (which start the images
with the chart's settings)."""
import os
import subprocess
import sys
import tempfile

import helm_python
import yaml

from rollcall_testing.paths import CHART

# The virtualenv's executables (kubernetes-validate, hadolint, checkov) sit beside its python.
BIN = os.path.dirname(sys.executable)


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


def secret_sources(objects, deployment):
    """The Secrets projected into a Deployment's read-only secrets volume, mounted where the *_FILE variables point."""
    pod = objects[("Deployment", deployment)]["spec"]["template"]["spec"]
    mounts = pod["containers"][0]["volumeMounts"]
    assert {"name": "secrets", "mountPath": "/run/secrets/rollcall", "readOnly": True} in mounts, mounts
    volume = next(v for v in pod["volumes"] if v["name"] == "secrets")
    assert volume["projected"]["defaultMode"] == 0o440
    return volume["projected"]["sources"]


def kubernetes_validate(manifests):
    """Every object but the Prometheus Operator's and KEDA's (kubernetes-validate has no schema of their
    CRDs; the monitoring and autoscaling checks check those)."""
    with tempfile.TemporaryDirectory() as directory:
        paths = []
        for index, (path, text) in enumerate(manifests.items()):
            if path.endswith(".yaml") and text.strip() and "apiVersion: monitoring.coreos.com/" not in text and "apiVersion: keda.sh/" not in text:
                paths.append(os.path.join(directory, f"{index}.yaml"))
                with open(paths[-1], "w") as file:
                    file.write(text)
        result = subprocess.run([os.path.join(BIN, "kubernetes-validate"), "-k", "1.30.0", "--strict", *paths],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
