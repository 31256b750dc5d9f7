"""Checks of chart/ and Dockerfile that need no cluster and no Docker engine: render the chart
offline (helm-python-sdk), lint it, validate every rendered object against Kubernetes 1.30
(kubernetes-validate --strict), assert what the chart promises, and run hadolint and checkov.
Run by scripts/test-chart (it sets ROLLCALL_PROMTOOL and builds the binaries the metrics check scrapes);
one check: scripts/test-chart -k NAME."""
import base64
import json
import os
import re
import shutil
import subprocess
import tempfile

import helm_python
import yaml

from rollcall_testing.chart import BIN, container, env, kubernetes_validate, of_kind, render, secret_sources
from rollcall_testing.paths import CHART, ROOT
from rollcall_testing.ports import free_port as loopback_port
from rollcall_testing.waiting import eventually

CHECKOV_BIN = BIN


VALUE_SETS = {
    "defaults": {},
    "scaled": {"worker": {"replicaCount": 7}, "controlPlane": {"replicas": 3}},
    "external": {"redis": {"external": {"url": "redis://cache.example:6379/2"}},
                 "postgresql": {"mode": "external", "external": {"url": "postgres://app@db.example:5432/inbox"}}},
    "cloudnativepg": {"postgresql": {"mode": "external", "external": {"existingSecret": "inbox-app", "existingSecretKey": "uri"}}},
    "sentinel": {"redis": {"mode": "sentinel"}},
    "sentinel-preferred": {"redis": {"mode": "sentinel", "sentinel": {"antiAffinity": "preferred", "replicas": 5, "quorum": 3}},
                           "worker": {"replicaCount": 4}},
    "external-sentinels": {"redis": {"external": {"sentinels": "s1.example:26379,s2.example:26379,s3.example", "masterName": "cache",
                                                  "sentinelExistingSecret": "sentinel-auth"}}},
    "pinned": {"image": {"digest": {"controlPlane": "sha256:" + "a1" * 32, "worker": "sha256:" + "b2" * 32}},
               "redis": {"image": {"digest": "sha256:" + "c3" * 32}}, "postgresql": {"image": {"digest": "sha256:" + "d4" * 32}},
               "tests": {"image": {"digest": "sha256:" + "e5" * 32}}},
    "monitoring": {"monitoring": {"podMonitor": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}},
                                  "prometheusRule": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}},
                                  "grafanaDashboard": {"enabled": True, "annotations": {"grafana_folder": "Rollcall"}}}},
    "pools": {"workers": {"payments": {"replicaCount": 2, "partitions": 16, "leaseTTL": "5s", "heartbeatInterval": "500ms",
                                       "balance": "load", "moveBudget": 8, "loadRoundInterval": "5s",
                                       "resources": {"requests": {"cpu": "200m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}}},
                          "tags": {"replicaCount": 1, "partitions": 0, "maxWorkers": 8}},
              "worker": {"replicaCount": 5}, "pools": {"autoCreate": {"enabled": True, "maxPools": 50}}},
    "autoscaling": {"controlPlane": {"targetLoadPerWorker": 500}, "worker": {"autoscaling": {"enabled": True}},
                    "workers": {"payments": {"replicaCount": 2, "partitions": 16, "maxWorkers": 12, "targetLoadPerWorker": 40,
                                             "balance": "load", "autoscaling": {"minReplicaCount": 2, "pollingInterval": 30}},
                                "batch": {"replicaCount": 1, "partitions": 8, "autoscaling": {"enabled": False}}},
                    "auth": {"existingSecret": "api-token", "existingSecretKey": "token"}},
    "tls": {"tls": {"enabled": True, "certManager": {"issuerRef": {"name": "cluster-ca", "kind": "ClusterIssuer"}}},
            "monitoring": {"podMonitor": {"enabled": True}}, "worker": {"autoscaling": {"enabled": True}},
            "controlPlane": {"targetLoadPerWorker": 100},
            "postgresql": {"mode": "external", "external": {"url": "postgres://app@db.example:5432/inbox?sslmode=verify-full",
                                                           "caSecret": "db-ca"}},
            "workers": {"payments": {"replicaCount": 2, "partitions": 16, "rateLimit": "5/s", "rateLimitBurst": 10,
                                     "autoscaling": {"enabled": False}}}},
    "admin-token-workers": {"auth": {"serviceAccountTokens": {"enabled": False}, "rateLimit": ""}},
    "kafka": {"worker": {"kafka": {"brokers": "kafka-0.kafka:9093,kafka-1.kafka:9093", "topics": ["replies", "events"],
                                   "caSecret": "kafka-ca", "clientCertSecret": "kafka-client",
                                   "sasl": {"mechanism": "SCRAM-SHA-512", "username": "rollcall", "existingSecret": "kafka-sasl"}}},
              "workers": {"payments": {"replicaCount": 2, "partitions": 16,
                                       "kafka": {"topics": ["payment-replies"], "batch": 100, "requestTopic": "payment-requests"}},
                          "tags": {"replicaCount": 1, "partitions": 0, "kafka": {"brokers": ""}}},
              "networkPolicy": {"kafka": {"to": [{"ipBlock": {"cidr": "10.20.0.0/16"}}], "ports": [9093]}}},
    "pinned-sentinel": {"image": {"digest": {"controlPlane": "sha256:" + "a1" * 32, "worker": "sha256:" + "b2" * 32}},
                        "redis": {"mode": "sentinel", "image": {"digest": "sha256:" + "c3" * 32}},
                        "postgresql": {"image": {"digest": "sha256:" + "d4" * 32}}, "tests": {"image": {"digest": "sha256:" + "e5" * 32}}},
}

# checkov checks the chart fails on purpose, each with its reason: the one place any is skipped. A rule
# applies to the renders and resources its patterns match ("*": all); anything else checkov fails, fails.
CHECKOV_SKIPS = [
    ("CKV_K8S_11", "*", "*", "CPU limits stay optional (values.yaml): a throttled control plane answers heartbeats late, "
                             "and a late heartbeat costs a worker its lease"),
    ("CKV_K8S_8", "*", "Pod.*-test-readyz", "the helm test pod runs one wget and exits: there is nothing to probe"),
    ("CKV_K8S_9", "*", "Pod.*-test-readyz", "the helm test pod runs one wget and exits: there is nothing to probe"),
    ("CKV_K8S_43", "unpinned", "*", "a digest exists only once an image is pushed: image.digest and *.image.digest pin them "
                                    "(the pinned renders pass)"),
    ("CKV_K8S_15", "unpinned", "*", "IfNotPresent is right for release tags that never move, and for digests (the pinned "
                                    "renders pass)"),
]


def test_lint_is_clean():
    report = helm_python.lint(CHART, strict=True, kube_version="v1.30.0")
    problems = [m for m in report["messages"] if m["severity"] >= 2] + report["errors"]
    assert not problems, problems


def test_every_rendering_validates_against_kubernetes_1_30():
    for name, values in VALUE_SETS.items():
        _, manifests = render(values)
        kubernetes_validate(manifests)


def test_defaults_deploy_everything_with_the_documented_replicas():
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


def test_replica_counts_follow_the_values():
    objects, _ = render(VALUE_SETS["scaled"])
    assert objects[("Deployment", "rc-rollcall-worker")]["spec"]["replicas"] == 7
    assert objects[("Deployment", "rc-rollcall-control-plane")]["spec"]["replicas"] == 3


def test_pools_get_a_worker_deployment_each_and_the_pools_file_the_control_plane_reads():
    objects, _ = render(VALUE_SETS["pools"])
    deployments = of_kind(objects, "Deployment")
    assert set(deployments) == {"rc-rollcall-control-plane", "rc-rollcall-worker", "rc-rollcall-worker-payments", "rc-rollcall-worker-tags"}
    # --set worker.replicaCount=N keeps scaling the default pool; each pool has its own count and POOL.
    assert [deployments[f"rc-rollcall-worker{suffix}"]["spec"]["replicas"] for suffix in ("", "-payments", "-tags")] == [5, 2, 1]
    assert "POOL" not in env(container(objects, "Deployment", "rc-rollcall-worker"))
    assert env(container(objects, "Deployment", "rc-rollcall-worker-payments"))["POOL"]["value"] == "payments"
    assert env(container(objects, "Deployment", "rc-rollcall-worker-tags"))["POOL"]["value"] == "tags"
    # A pool's worker settings fall back to worker's; its own win.
    assert container(objects, "Deployment", "rc-rollcall-worker-payments")["resources"]["requests"]["cpu"] == "200m"
    assert container(objects, "Deployment", "rc-rollcall-worker-tags")["resources"] == container(objects, "Deployment", "rc-rollcall-worker")["resources"]
    # The default pool's Deployment keeps the selector it had (a selector cannot change on upgrade), and no
    # Deployment's selector selects another's pods.
    assert deployments["rc-rollcall-worker"]["spec"]["selector"] == render()[0][("Deployment", "rc-rollcall-worker")]["spec"]["selector"]
    for name, deployment in deployments.items():
        for other, pods in deployments.items():
            if other != name:
                assert not selects(deployment["spec"]["selector"], pods["spec"]["template"]["metadata"]["labels"]), (name, other)
    # The pools file: the default pool (the environment's settings), one entry per pool, autoCreate.
    pools = yaml.safe_load(objects[("ConfigMap", "rc-rollcall-pools")]["data"]["pools.yaml"])
    # Each pool admits only its own Deployment's service account.
    assert pools == {"pools": [{"name": "default", "serviceAccounts": ["rollcall/rc-rollcall-worker"]},
                               {"name": "payments", "partitions": 16, "leaseTTL": "5s", "heartbeatInterval": "500ms",
                                "balance": "load", "moveBudget": 8, "loadRoundInterval": "5s",
                                "serviceAccounts": ["rollcall/rc-rollcall-worker-payments"]},
                               {"name": "tags", "partitions": 0, "maxWorkers": 8, "serviceAccounts": ["rollcall/rc-rollcall-worker-tags"]}],
                     "autoCreate": {"maxWorkers": 1024, "maxPools": 50}}
    control_plane = container(objects, "Deployment", "rc-rollcall-control-plane")
    assert env(control_plane)["POOLS_FILE"]["value"] == "/etc/rollcall/pools/pools.yaml"
    mount = next(m for m in control_plane["volumeMounts"] if m["name"] == "pools")
    assert mount["mountPath"] == "/etc/rollcall/pools" and "subPath" not in mount, "a subPath mount never sees a ConfigMap change"
    volume = next(v for v in objects[("Deployment", "rc-rollcall-control-plane")]["spec"]["template"]["spec"]["volumes"] if v["name"] == "pools")
    assert volume["configMap"]["name"] == "rc-rollcall-pools"
    # Every pool's workers may reach the control plane and PostgreSQL, and are scraped.
    objects = all_objects({**VALUE_SETS["pools"], **MONITORING})
    for suffix in ("", "-payments", "-tags"):
        labels = objects[("Deployment", f"rc-rollcall-worker{suffix}")]["spec"]["template"]["metadata"]["labels"]
        assert selects(policy(objects, "worker")["podSelector"], labels), suffix
        assert selects(policy(objects, "postgresql")["ingress"][0]["from"][0]["podSelector"], labels), suffix
        assert selects(policy(objects, "control-plane")["ingress"][0]["from"][0]["podSelector"], labels), suffix
        assert selects(objects[("PodMonitor", "rc-rollcall-worker")]["spec"]["selector"], labels), suffix


def test_pool_values_that_cannot_work_are_refused_by_the_schema():
    for workers in ({"default": {"replicaCount": 1}}, {"Pay_ments": {"replicaCount": 1}}, {"payments": {"partitions": 4}},
                    {"payments": {"replicaCount": 1, "partitons": 4}}, {"payments": {"replicaCount": 1, "partitions": -1}},
                    {"a" * 33: {"replicaCount": 1}}):
        try:
            render({"workers": workers})
        except Exception as error:
            assert "schema" in str(error).lower() or "values don't meet" in str(error), error
        else:
            raise AssertionError(f"accepted: {workers}")


def test_the_control_plane_serves_the_pools_the_rendered_file_declares():
    """The rendered pools file, read by the control-plane binary (ROLLCALL_METRICS_BIN) on the Redis
    scripts/test-chart started: GET /v1/pools lists the chart's pools with their settings."""
    import urllib.request
    objects, _ = render(VALUE_SETS["pools"])
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "pools.yaml")
        with open(path, "w") as file:
            file.write(objects[("ConfigMap", "rc-rollcall-pools")]["data"]["pools.yaml"])
        port = loopback_port()
        control_plane = env(container(objects, "Deployment", "rc-rollcall-control-plane"))
        settings = {name: control_plane[name]["value"] for name in ("LEASE_TTL", "HEARTBEAT_INTERVAL", "PARTITIONS", "MAX_WORKERS")}
        process = subprocess.Popen([os.path.join(os.environ["ROLLCALL_METRICS_BIN"], "control-plane")],
                                   env=dict(os.environ, **settings, POOLS_FILE=path, PORT=str(port), HOST="127.0.0.1", LOG_LEVEL="warning",
                                            REDIS_URL=os.environ["ROLLCALL_METRICS_REDIS_URL"], REDIS_KEY_PREFIX="chart-pools:"),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            def pools():
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/pools", timeout=5) as response:
                    return json.load(response)
            listed = eventually(lambda: pools(), 30, "GET /v1/pools answers")
        finally:
            process.terminate()
            _, stderr = process.communicate(timeout=10)
    by_name = {p["name"]: p for p in listed["pools"]}
    assert list(by_name) == ["default", "payments", "tags"], stderr
    assert (by_name["default"]["partitions"], by_name["default"]["leaseTTLMillis"]) == (1024, 10000)
    assert (by_name["payments"]["partitions"], by_name["payments"]["leaseTTLMillis"], by_name["payments"]["consumerGroupPrefix"]) == (16, 5000, "payments")
    assert (by_name["tags"]["partitions"], by_name["tags"]["maxWorkers"]) == (0, 8)
    assert (by_name["payments"]["balance"], by_name["default"]["balance"]) == ("load", "count")
    assert listed["autoCreate"] == {"maxPools": 50, "made": 0}


def test_external_redis_and_postgres_replace_the_statefulsets():
    objects, _ = render(VALUE_SETS["external"])
    assert not of_kind(objects, "StatefulSet")
    assert env(container(objects, "Deployment", "rc-rollcall-control-plane"))["REDIS_URL"]["value"] == "redis://cache.example:6379/2"
    assert env(container(objects, "Deployment", "rc-rollcall-worker"))["DATABASE_URL"]["value"] == "postgres://app@db.example:5432/inbox"
    assert set(objects[("Secret", "rc-rollcall")]["data"]) == {"auth-token", "reader-token"}


def test_external_postgresql_from_a_cloudnativepg_secret():
    """postgresql.mode=external with CloudNativePG's <cluster>-app Secret: its uri key (a URL to the -rw
    Service) reaches the workers as a file, and the chart deploys no PostgreSQL of its own."""
    objects, manifests = render(VALUE_SETS["cloudnativepg"])
    assert ("StatefulSet", "rc-rollcall-postgresql") not in objects and ("Service", "rc-rollcall-postgresql") not in objects
    assert ("StatefulSet", "rc-rollcall-redis") in objects
    worker = env(container(objects, "Deployment", "rc-rollcall-worker"))
    assert worker["DATABASE_URL_FILE"]["value"] == "/run/secrets/rollcall/database-url"
    assert "DATABASE_URL" not in worker and "DATABASE_PASSWORD_FILE" not in worker
    assert {"secret": {"name": "inbox-app", "items": [{"key": "uri", "path": "database-url"}]}} in secret_sources(objects, "rc-rollcall-worker")
    # No PostgreSQL password is generated for a database the chart does not run.
    assert "postgres-password" not in objects[("Secret", "rc-rollcall")]["data"]
    assert policy(objects, "worker")["egress"][2]["ports"] == [{"port": 5432, "protocol": "TCP"}]
    kubernetes_validate(manifests)


def test_postgresql_modes_their_values_contradict_are_refused():
    """external without a URL, or a URL with standalone (which would ignore it), fails the render with the
    setting to change; an unknown mode fails the schema."""
    cases = [({"postgresql": {"mode": "external"}}, "postgresql.external.url or postgresql.external.existingSecret"),
             ({"postgresql": {"external": {"url": "postgres://app@db.example/inbox"}}}, "postgresql.mode=external"),
             ({"postgresql": {"external": {"existingSecret": "inbox-app"}}}, "postgresql.mode=external"),
             ({"postgresql": {"mode": "replicated"}}, None)]
    for values, message in cases:
        try:
            render(values)
        except Exception as error:  # the template's fail, or the schema (HelmValuesError)
            assert (message in str(error)) if message else isinstance(error, helm_python.HelmValuesError), (values, error)
            continue
        raise AssertionError(f"chart accepted {values}")


def test_sentinel_mode_deploys_three_redis_nodes_each_with_a_sentinel():
    objects, _ = render(VALUE_SETS["sentinel"])
    statefulset = objects[("StatefulSet", "rc-rollcall-redis")]
    pod = statefulset["spec"]["template"]["spec"]
    assert statefulset["spec"]["replicas"] == 3
    assert statefulset["spec"]["serviceName"] == "rc-rollcall-redis-headless"
    assert statefulset["spec"]["podManagementPolicy"] == "Parallel"
    assert statefulset["spec"]["volumeClaimTemplates"], "the Redis nodes have no persistent volume"
    assert [c["name"] for c in pod["containers"]] == ["redis", "sentinel"]
    assert [c["name"] for c in pod["initContainers"]] == ["config"]
    init = env(pod["initContainers"][0])
    assert init["QUORUM"]["value"] == "2" and init["MASTER_NAME"]["value"] == "mymaster"
    assert init["PEERS"]["value"].split() == [f"rc-rollcall-redis-{i}.rc-rollcall-redis-headless.rollcall.svc" for i in range(3)]
    assert init["REDIS_PASSWORD_FILE"]["value"] == "/run/secrets/redis/redis-password"
    assert "REDIS_PASSWORD" not in init
    assert {"name": "redis-secret", "secret": {"secretName": "rc-rollcall", "defaultMode": 0o440,
                                               "items": [{"key": "redis-password", "path": "redis-password"}]}} in pod["volumes"]
    for spec in pod["containers"] + pod["initContainers"]:
        assert {"name": "redis-secret", "mountPath": "/run/secrets/redis", "readOnly": True} in spec["volumeMounts"], spec["name"]
    anti = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
    assert anti["topologyKey"] == "kubernetes.io/hostname"
    assert anti["labelSelector"]["matchLabels"] == statefulset["spec"]["selector"]["matchLabels"]
    assert objects[("PodDisruptionBudget", "rc-rollcall-redis")]["spec"]["maxUnavailable"] == 1
    headless = objects[("Service", "rc-rollcall-redis-headless")]["spec"]
    assert headless["clusterIP"] == "None" and headless["publishNotReadyAddresses"] is True
    assert {p["port"] for p in headless["ports"]} == {6379, 26379}
    # No Service over all nodes: only the primary takes writes, and the Sentinels name it.
    assert ("Service", "rc-rollcall-redis") not in objects
    script = objects[("ConfigMap", "rc-rollcall-redis-scripts")]["data"]["redis-sentinel-init.sh"]
    with open(os.path.join(CHART, "files", "redis-sentinel-init.sh")) as file:
        assert script.strip() == file.read().strip()


def test_sentinel_mode_configures_the_control_plane_through_the_sentinels():
    objects, _ = render(VALUE_SETS["sentinel"])
    control_plane = env(container(objects, "Deployment", "rc-rollcall-control-plane"))
    sentinels = control_plane["REDIS_SENTINELS"]["value"].split(",")
    assert sentinels == [f"rc-rollcall-redis-{i}.rc-rollcall-redis-headless.rollcall.svc:26379" for i in range(3)]
    assert control_plane["REDIS_SENTINEL_MASTER"]["value"] == "mymaster"
    assert control_plane["REDIS_MIN_REPLICAS"]["value"] == "1"
    assert control_plane["REDIS_REPLICATION_TIMEOUT"]["value"] == "500ms"
    assert control_plane["REDIS_SENTINEL_PASSWORD_FILE"]["value"] == "/run/secrets/rollcall/redis-password"
    assert control_plane["REDIS_PASSWORD_FILE"]["value"] == "/run/secrets/rollcall/redis-password"
    assert control_plane["REDIS_URL"]["value"] == "redis://rc-rollcall-redis-headless:6379"
    # Five nodes and quorum 3 follow the values; soft anti-affinity when asked for.
    objects, _ = render(VALUE_SETS["sentinel-preferred"])
    assert objects[("StatefulSet", "rc-rollcall-redis")]["spec"]["replicas"] == 5
    pod = objects[("StatefulSet", "rc-rollcall-redis")]["spec"]["template"]["spec"]
    assert env(pod["initContainers"][0])["QUORUM"]["value"] == "3"
    assert "preferredDuringSchedulingIgnoredDuringExecution" in pod["affinity"]["podAntiAffinity"]
    assert len(env(container(objects, "Deployment", "rc-rollcall-control-plane"))["REDIS_SENTINELS"]["value"].split(",")) == 5


def test_external_sentinels_replace_the_redis_statefulset():
    objects, _ = render(VALUE_SETS["external-sentinels"])
    assert set(of_kind(objects, "StatefulSet")) == {"rc-rollcall-postgresql"}
    control_plane = env(container(objects, "Deployment", "rc-rollcall-control-plane"))
    assert control_plane["REDIS_SENTINELS"]["value"] == "s1.example:26379,s2.example:26379,s3.example"
    assert control_plane["REDIS_SENTINEL_MASTER"]["value"] == "cache"
    assert control_plane["REDIS_SENTINEL_PASSWORD_FILE"]["value"] == "/run/secrets/rollcall/sentinel-password"
    assert {"secret": {"name": "sentinel-auth", "items": [{"key": "sentinel-password", "path": "sentinel-password"}]}} \
        in secret_sources(objects, "rc-rollcall-control-plane")
    assert control_plane["REDIS_MIN_REPLICAS"]["value"] == "1"
    assert "REDIS_URL" not in control_plane and "REDIS_PASSWORD_FILE" not in control_plane
    assert "redis-password" not in objects[("Secret", "rc-rollcall")]["data"]


def test_sentinel_values_that_cannot_work_are_refused():
    for bad in ({"redis": {"mode": "cluster"}}, {"redis": {"sentinel": {"replicas": 2}}}, {"redis": {"sentinel": {"quorum": 1}}},
                {"redis": {"sentinel": {"antiAffinity": "sometimes"}}}, {"redis": {"external": {"sentinels": "a:1,,b:2"}}},
                {"redis": {"mode": "sentinel", "sentinel": {"minReplicas": 3}}},
                {"redis": {"mode": "sentinel", "sentinel": {"quorum": 4}}}):
        try:
            render(bad)
        except Exception as error:  # the schema (HelmValuesError) or the template's fail
            assert "schema" in str(error).lower() or "redis.sentinel" in str(error) or isinstance(error, helm_python.HelmValuesError), error
            continue
        raise AssertionError(f"chart accepted {bad}")


def redis_cli(host, port, *args, password):
    result = subprocess.run(["redis-cli", "--no-auth-warning", "-h", host, "-p", str(port), "--raw", *args],
                            capture_output=True, text=True, timeout=5, env=dict(os.environ, REDISCLI_AUTH=password))
    return result.stdout.strip()


def test_the_sentinel_init_script_forms_a_working_sentinel_set_on_loopback():
    """The chart's init script, as rendered, run for three 'pods' on 127.0.0.1-3 with real redis-server and
    redis-sentinel: they form one primary, two replicas and three Sentinels; the primary is killed and a
    replica promoted; the killed pod, started again through the script, comes back as a replica."""
    for tool in ("redis-server", "redis-sentinel", "redis-cli"):
        assert shutil.which(tool), f"{tool} is not installed (scripts/test installs it)"
    objects, _ = render(VALUE_SETS["sentinel"])
    script = objects[("ConfigMap", "rc-rollcall-redis-scripts")]["data"]["redis-sentinel-init.sh"]
    hosts = ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
    redis_port, sentinel_port, password = loopback_port(), loopback_port(), "s3cret-" + os.urandom(6).hex()
    directory = tempfile.mkdtemp(prefix="rollcall-chart-sentinel.")
    password_file = os.path.join(directory, "redis-password")
    with open(password_file, "w") as file:
        file.write(password)  # as the Secret's file: no line break
    processes = {}
    keep = None

    def start_pod(i):
        config, data = os.path.join(directory, f"pod{i}", "config"), os.path.join(directory, f"pod{i}", "data")
        os.makedirs(config, exist_ok=True)
        os.makedirs(data, exist_ok=True)
        result = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30, env=dict(
            os.environ, POD_NAME=f"rc-rollcall-redis-{i}", PEERS=" ".join(hosts), REDIS_PASSWORD_FILE=password_file, MASTER_NAME="mymaster",
            QUORUM="2", DOWN_AFTER_MS="1000", FAILOVER_TIMEOUT_MS="3000", REDIS_PORT=str(redis_port),
            SENTINEL_PORT=str(sentinel_port), BIND=hosts[i], DATA_DIR=data, CONFIG_DIR=config))
        assert result.returncode == 0, result.stderr
        with open(os.path.join(config, "sentinel.conf")) as file:
            sentinel_conf = file.read()
        # Quorum 2, and every other replica reconfigured at once on a failover (docs/design.md).
        assert "sentinel monitor mymaster " in sentinel_conf and " 2\n" in sentinel_conf.split("sentinel monitor")[1]
        assert "sentinel parallel-syncs mymaster 2" in sentinel_conf, sentinel_conf
        with open(os.path.join(config, "redis.conf")) as file:
            lines = file.read().splitlines()
        # As the standalone Redis: AOF, and nothing evicted (an evicted lease key looks like a free number).
        assert {"appendonly yes", "maxmemory-policy noeviction", f"requirepass {password}"} <= set(lines), lines
        log = open(os.path.join(directory, f"pod{i}", "out.log"), "ab")
        processes[i] = [subprocess.Popen(["redis-server", os.path.join(config, "redis.conf")], stdout=log, stderr=log),
                        subprocess.Popen(["redis-sentinel", os.path.join(config, "sentinel.conf")], stdout=log, stderr=log)]
        return result.stdout

    def primary():
        for host in hosts:
            try:
                answer = redis_cli(host, sentinel_port, "sentinel", "get-master-addr-by-name", "mymaster", password=password).split()
            except subprocess.TimeoutExpired:
                continue
            if len(answer) == 2:
                return answer[0]
        return None

    def role(host):
        try:
            return redis_cli(host, redis_port, "role", password=password).split("\n")[0]
        except subprocess.TimeoutExpired:
            return ""

    def online_replicas(host):
        try:
            info = redis_cli(host, redis_port, "info", "replication", password=password)
        except subprocess.TimeoutExpired:
            return 0
        return sum(1 for line in info.splitlines() if line.startswith("slave") and "state=online" in line)

    def sentinels_know_everyone():
        # A replica is learned from the primary's INFO, every 10 s: one the Sentinels never saw is not promoted.
        for host in hosts:
            flat = redis_cli(host, sentinel_port, "sentinel", "master", "mymaster", password=password).split("\n")
            fields = dict(zip(flat[0::2], flat[1::2]))
            if fields.get("num-other-sentinels") != "2" or fields.get("num-slaves") != "2" or fields.get("quorum") != "2":
                return False
        return True

    try:
        output = start_pod(0)
        assert "no Sentinel answered" in output and "127.0.0.1 starts as primary" in output, output
        for i in (1, 2):
            assert "replica of 127.0.0.1" in start_pod(i)
        eventually(lambda: online_replicas("127.0.0.1") == 2, 30, "two replicas online")
        eventually(sentinels_know_everyone, 30, "every Sentinel knows the two others and both replicas, quorum 2")
        assert role("127.0.0.1") == "master" and role("127.0.0.2") == role("127.0.0.3") == "slave"
        # The Sentinels authenticate: no password, no answer.
        assert "NOAUTH" in redis_cli("127.0.0.2", sentinel_port, "ping", password="")

        processes[0][0].kill()
        processes[0][0].wait()
        eventually(lambda: primary() in ("127.0.0.2", "127.0.0.3"), 30, "a replica promoted")
        promoted = primary()
        eventually(lambda: role(promoted) == "master", 10, "the promoted node answers ROLE master")

        # The failover over (every Sentinel names the promoted node), pod 0 restarts: both its containers.
        def everyone_names(address):
            return all(redis_cli(host, sentinel_port, "sentinel", "get-master-addr-by-name", "mymaster",
                                 password=password).split("\n")[0] == address for host in hosts)
        eventually(lambda: everyone_names(promoted), 30, "every Sentinel names the promoted node")
        processes[0][1].kill()
        processes[0][1].wait()
        output = start_pod(0)
        assert f"names {promoted} the primary" in output and f"replica of {promoted}" in output, output
        assert "no Sentinel answered" not in output, output
        eventually(lambda: role("127.0.0.1") == "slave" and online_replicas(promoted) == 2, 30, "the old primary back as a replica")
    except AssertionError as error:
        logs = []
        for i in range(3):
            with open(os.path.join(directory, f"pod{i}", "out.log"), errors="replace") as file:
                logs.append(f"--- pod {i}\n" + "".join(file.readlines()[-25:]))
        keep = directory
        raise AssertionError(f"{error} (files kept in {directory})\n" + "\n".join(logs))
    finally:
        for pair in processes.values():
            for process in pair:
                process.kill()
                process.wait()
        if not keep:
            shutil.rmtree(directory, ignore_errors=True)


def test_the_environment_of_design_is_wired():
    objects, _ = render()
    control_plane = env(container(objects, "Deployment", "rc-rollcall-control-plane"))
    for name in ("HOST", "PORT", "REDIS_URL", "REDIS_PASSWORD_FILE", "AUTH_TOKEN_FILE", "LEASE_TTL", "HEARTBEAT_INTERVAL", "NUMBER_QUARANTINE",
                 "PARTITIONS", "MAX_WORKERS", "EPSILON", "CONSUMER_GROUP_PREFIX"):
        assert name in control_plane, name
    assert control_plane["PORT"]["value"] == "8080" and control_plane["LEASE_TTL"]["value"] == "10s"
    assert control_plane["REDIS_URL"]["value"] == "redis://rc-rollcall-redis:6379"
    assert control_plane["REDIS_PASSWORD_FILE"]["value"] == "/run/secrets/rollcall/redis-password"
    worker = env(container(objects, "Deployment", "rc-rollcall-worker"))
    assert worker["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert worker["CONTROL_PLANE_URL"]["value"] == "http://rc-rollcall-control-plane:8080"
    assert worker["PORT"]["value"] == "8081"
    assert worker["DATABASE_URL"]["value"] == "postgres://rollcall@rc-rollcall-postgresql:5432/rollcall"
    assert worker["DATABASE_PASSWORD_FILE"]["value"] == "/run/secrets/rollcall/database-password"
    # The worker proves its own name with its pod's token; only the control plane has the admin token.
    assert worker["AUTH_TOKEN_FILE"]["value"] == "/run/secrets/rollcall/identity-token"
    assert control_plane["AUTH_TOKEN_FILE"]["value"] == "/run/secrets/rollcall/auth-token"


def test_redis_persists_and_never_evicts_lease_state():
    objects, _ = render()
    command = " ".join(container(objects, "StatefulSet", "rc-rollcall-redis")["command"])
    # An evicted lease key looks like a free number: Rollcall's promises need every key kept.
    assert "--appendonly yes" in command and "--maxmemory-policy noeviction" in command, command


def test_probes_and_drain_time():
    objects, _ = render()
    for name, port in (("rc-rollcall-control-plane", 8080), ("rc-rollcall-worker", 8081)):
        spec = container(objects, "Deployment", name)
        assert spec["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        assert spec["livenessProbe"]["httpGet"]["path"] == "/healthz", name
        assert spec["ports"][0]["containerPort"] == port
    assert objects[("Deployment", "rc-rollcall-worker")]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 5


def test_no_secret_takes_a_default_password_from_values():
    with open(os.path.join(CHART, "values.yaml")) as file:
        values_text = file.read()
    first, _ = render()
    second, _ = render()
    data = first[("Secret", "rc-rollcall")]["data"]
    assert set(data) == {"auth-token", "reader-token", "redis-password", "postgres-password"}
    for key, encoded in data.items():
        secret = base64.b64decode(encoded).decode()
        assert len(secret) >= 32, key
        assert secret not in values_text, key
        assert secret != base64.b64decode(second[("Secret", "rc-rollcall")]["data"][key]).decode(), f"{key} is not generated"
    for walk in yaml.safe_load(values_text).values():
        assert "password" not in str(walk).lower().replace("existingsecretkey", "").replace("-password", ""), walk


def test_existing_secrets_are_used_instead_of_generated_ones():
    objects, _ = render({"auth": {"existingSecret": "mine"}, "redis": {"auth": {"existingSecret": "mine"}},
                         "postgresql": {"auth": {"existingSecret": "mine"}}})
    assert not of_kind(objects, "Secret")
    assert {s["secret"]["name"] for s in secret_sources(objects, "rc-rollcall-worker") if "secret" in s} == {"mine"}
    assert {s["secret"]["name"] for s in secret_sources(objects, "rc-rollcall-control-plane") if "secret" in s} == {"mine"}
    for name in ("rc-rollcall-redis", "rc-rollcall-postgresql"):
        volumes = objects[("StatefulSet", name)]["spec"]["template"]["spec"]["volumes"]
        assert [v["secret"]["secretName"] for v in volumes if "secret" in v] == ["mine"], name
    # External URLs in existing Secrets are files too.
    objects, _ = render({"redis": {"external": {"existingSecret": "cache", "existingSecretKey": "url"}},
                         "postgresql": {"mode": "external", "external": {"existingSecret": "db", "existingSecretKey": "dsn"}}})
    assert env(container(objects, "Deployment", "rc-rollcall-control-plane"))["REDIS_URL_FILE"]["value"] == "/run/secrets/rollcall/redis-url"
    assert env(container(objects, "Deployment", "rc-rollcall-worker"))["DATABASE_URL_FILE"]["value"] == "/run/secrets/rollcall/database-url"
    assert {"secret": {"name": "cache", "items": [{"key": "url", "path": "redis-url"}]}} in secret_sources(objects, "rc-rollcall-control-plane")
    assert {"secret": {"name": "db", "items": [{"key": "dsn", "path": "database-url"}]}} in secret_sources(objects, "rc-rollcall-worker")


def test_every_pod_runs_non_root_read_only_without_capabilities():
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


def test_every_object_has_the_recommended_labels():
    objects, _ = render()
    for (kind, name), obj in objects.items():
        labels = obj["metadata"]["labels"]
        for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component",
                    "app.kubernetes.io/version", "app.kubernetes.io/managed-by"):
            assert key in labels, f"{kind}/{name} lacks {key}"


def test_helm_test_pod_checks_readyz():
    objects, _ = render()
    pod = objects[("Pod", "rc-rollcall-test-readyz")]
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert pod["spec"]["containers"][0]["command"][-1] == "http://rc-rollcall-control-plane:8080/readyz"


def test_notes_tell_how_to_watch_and_scale():
    _, manifests = render()
    notes = manifests["rollcall/templates/NOTES.txt"]
    assert "redis-cli hgetall workers" in notes and "worker.replicaCount" in notes
    assert "/_status" in notes and "Monitoring:" not in notes
    notes = render(MONITORING)[1]["rollcall/templates/NOTES.txt"]
    assert "PodMonitors rc-rollcall-control-plane and rc-rollcall-worker" in notes and "RollcallNoLiveWorkers" in notes, notes
    assert 'Grafana dashboard "Rollcall" in ConfigMap rc-rollcall-dashboard' in notes, notes
    # Each other pool: its workers' hash and how to scale it.
    notes = render(VALUE_SETS["pools"])[1]["rollcall/templates/NOTES.txt"]
    assert "hgetall 'rollcall:{payments}:workers'" in notes and "--set workers.payments.replicaCount=N" in notes, notes
    assert "5 workers, 2 workers of pool payments, 1 workers of pool tags." in notes, notes
    # With Sentinels: against the primary they name now.
    for values in (VALUE_SETS["sentinel"], VALUE_SETS["external-sentinels"]):
        notes = render(values)[1]["rollcall/templates/NOTES.txt"]
        assert "get-master-addr-by-name" in notes and 'redis-cli -h "$1" -p "$2" hgetall workers' in notes, notes


def test_the_schema_rejects_wrong_types_and_unknown_keys():
    for bad in ({"worker": {"replicaCount": "three"}}, {"controlPlane": {"replicas": 0}}, {"unknownKey": 1},
                {"controlPlane": {"leaseTTL": "ten seconds"}}, {"redis": {"external": {"url": "http://x"}}}):
        try:
            render(bad)
        except helm_python.HelmValuesError:
            continue
        raise AssertionError(f"schema accepted {bad}")


def all_objects(values):
    objects, _ = render(values)
    return objects


def pod_specs(objects):
    specs = {name: obj["spec"]["template"]["spec"] for (kind, name), obj in objects.items() if kind in ("Deployment", "StatefulSet")}
    specs.update({name: obj["spec"] for (kind, name), obj in objects.items() if kind == "Pod"})
    return specs


def test_no_container_gets_a_secret_from_its_environment():
    for render_name, values in VALUE_SETS.items():
        for pod_name, pod in pod_specs(all_objects(values)).items():
            mounts = {v["name"] for v in pod.get("volumes", []) if "secret" in v or "projected" in v}
            for spec in pod["containers"] + pod.get("initContainers", []):
                for variable in spec.get("env", []):
                    assert "secretKeyRef" not in variable.get("valueFrom", {}), f"{render_name} {pod_name} {variable['name']}"
                    assert "PASSWORD" not in variable["name"] or variable["name"].endswith("_FILE"), variable
                    # POOLS_FILE and AUTH_TOKENS_FILE name configuration (a ConfigMap: the tokens file names the
                    # token's file), not a secret.
                    if variable["name"].endswith("_FILE") and variable["name"] not in ("POOLS_FILE", "AUTH_TOKENS_FILE"):
                        mounted = [m for m in spec["volumeMounts"] if variable["value"].startswith(m["mountPath"] + "/")]
                        assert mounted and mounted[0]["readOnly"] and mounted[0]["name"] in mounts, (render_name, spec["name"], variable)


def test_the_standalone_redis_command_reads_its_password_from_the_file():
    """The rendered command, run by sh against a real redis-server: it requires the file's password, and
    neither the password nor the file's path appears on its command line."""
    objects, _ = render()
    spec = container(objects, "StatefulSet", "rc-rollcall-redis")
    assert {"name": "redis-secret", "mountPath": "/run/secrets/redis", "readOnly": True} in spec["volumeMounts"]
    directory = tempfile.mkdtemp(prefix="rollcall-chart-redis.")
    password, port = "pw-" + os.urandom(8).hex(), loopback_port()
    with open(os.path.join(directory, "redis-password"), "w") as file:
        file.write(password)
    command = spec["command"][-1].replace("/run/secrets/redis", directory).replace("--dir /data", f"--dir {directory} --port {port} --bind 127.0.0.1")
    process = subprocess.Popen([*spec["command"][:-1], command], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        eventually(lambda: redis_cli("127.0.0.1", port, "ping", password=password) == "PONG", 10, "redis-server from the chart's command")
        assert "NOAUTH" in subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True).stdout
        assert redis_cli("127.0.0.1", port, "config", "get", "appendonly", password=password).split() == ["appendonly", "yes"]
        assert redis_cli("127.0.0.1", port, "config", "get", "maxmemory-policy", password=password).split() == ["maxmemory-policy", "noeviction"]
        cmdline = open(f"/proc/{process.pid}/cmdline", "rb").read().decode(errors="replace")
        assert password not in cmdline, "the password is on redis-server's command line"
        assert process.poll() is None
    finally:
        process.kill()
        process.wait()
        shutil.rmtree(directory, ignore_errors=True)


def policy(objects, component):
    return objects[("NetworkPolicy", f"rc-rollcall-{component}")]["spec"]


def component_of(selector):
    """The component a pod selector names: its matchLabels', or "worker" for the every-pool worker selector."""
    expressions = selector.get("matchExpressions", [])
    if any(e["key"] == "app.kubernetes.io/component" and "worker" in e["values"] for e in expressions):
        return "worker"
    return selector.get("matchLabels", {}).get("app.kubernetes.io/component")


def peers_of(rule):
    return [component_of(peer.get("podSelector", {})) or peer for peer in rule.get("from", rule.get("to", []))]


def selects(selector, labels):
    """Whether a label selector (matchLabels and In expressions) selects a pod with `labels`."""
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items()) and all(
        labels.get(e["key"]) in e["values"] for e in selector.get("matchExpressions", []))


def test_network_policies_admit_only_what_rollcall_needs():
    objects = all_objects({})
    policies = of_kind(objects, "NetworkPolicy")
    assert set(policies) == {f"rc-rollcall-{c}" for c in ("control-plane", "worker", "redis", "postgresql", "test")}
    # Every pod of the chart is selected by one policy, which restricts both directions.
    for name, obj in policies.items():
        assert obj["spec"]["policyTypes"] == ["Ingress", "Egress"], name
    for (kind, name), obj in objects.items():
        if kind in ("Deployment", "StatefulSet", "Pod"):
            labels = obj["metadata"]["labels"] if kind == "Pod" else obj["spec"]["template"]["metadata"]["labels"]
            assert any(selects(p["spec"]["podSelector"], labels) for p in policies.values()), name
    redis, postgresql = policy(objects, "redis"), policy(objects, "postgresql")
    assert [peers_of(rule) for rule in redis["ingress"]] == [["control-plane", "redis"]]
    assert {p["port"] for p in redis["ingress"][0]["ports"]} == {6379, 26379}
    assert [peers_of(rule) for rule in postgresql["ingress"]] == [["worker"]] and postgresql["egress"] == []
    control_plane = policy(objects, "control-plane")
    assert peers_of(control_plane["ingress"][0])[:2] == ["worker", "test"]
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}} in control_plane["ingress"][0]["from"]
    dns = {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}
    for component in ("control-plane", "worker", "redis", "test"):
        assert dns in policy(objects, component)["egress"], component
    # Out to the API server for the issuer's keys (the ports only), and to Redis.
    assert control_plane["egress"][1] == {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
                                          "ports": [{"port": 443, "protocol": "TCP"}, {"port": 6443, "protocol": "TCP"}]}
    assert [peers_of(rule) for rule in control_plane["egress"][2:]] == [["redis"]]
    worker = policy(objects, "worker")
    assert [peers_of(rule) for rule in worker["egress"][1:]] == [["control-plane"], ["postgresql"]]
    assert worker["ingress"][0]["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
    # The values name more callers; external services get egress to where the values say they are.
    objects = all_objects({"networkPolicy": {"controlPlane": {"from": [{"namespaceSelector": {"matchLabels": {"team": "payments"}}}]},
                                             "worker": {"from": [{"podSelector": {"matchLabels": {"app": "orders"}}}]},
                                             "metrics": {"namespaceSelector": None}},
                           **VALUE_SETS["external"]})
    assert {"namespaceSelector": {"matchLabels": {"team": "payments"}}} in policy(objects, "control-plane")["ingress"][0]["from"]
    assert policy(objects, "worker")["ingress"][0]["from"] == [{"podSelector": {"matchLabels": {"app": "orders"}}}]
    assert ("NetworkPolicy", "rc-rollcall-redis") not in objects and ("NetworkPolicy", "rc-rollcall-postgresql") not in objects
    assert policy(objects, "control-plane")["egress"][2] == {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
                                                             "ports": [{"port": 6379, "protocol": "TCP"}, {"port": 26379, "protocol": "TCP"}]}
    assert policy(objects, "worker")["egress"][2]["ports"] == [{"port": 5432, "protocol": "TCP"}]
    # Opt-out.
    assert not of_kind(all_objects({"networkPolicy": {"enabled": False}}), "NetworkPolicy")


def test_kafka_settings_reach_each_pool_s_workers_as_variables_and_files_and_egress_to_the_brokers():
    objects = all_objects(VALUE_SETS["kafka"])
    default = {name: e["value"] for name, e in env(container(objects, "Deployment", "rc-rollcall-worker")).items() if "value" in e}
    secrets = "/run/secrets/rollcall"
    assert {k: v for k, v in default.items() if k.startswith("KAFKA_")} == {
        "KAFKA_BROKERS": "kafka-0.kafka:9093,kafka-1.kafka:9093", "KAFKA_TOPICS": "replies,events", "KAFKA_BATCH": "500",
        "KAFKA_CA_FILE": f"{secrets}/kafka-ca.crt", "KAFKA_CERT_FILE": f"{secrets}/kafka-client.crt",
        "KAFKA_KEY_FILE": f"{secrets}/kafka-client.key", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_SASL_USERNAME": "rollcall", "KAFKA_SASL_PASSWORD_FILE": f"{secrets}/kafka-sasl-password"}
    sources = objects[("Deployment", "rc-rollcall-worker")]["spec"]["template"]["spec"]["volumes"][0]["projected"]["sources"]
    mounted = {item["path"]: (source["secret"]["name"], item["key"]) for source in sources if "secret" in source
               for item in source["secret"]["items"]}
    assert mounted["kafka-ca.crt"] == ("kafka-ca", "ca.crt") and mounted["kafka-sasl-password"] == ("kafka-sasl", "sasl-password")
    assert mounted["kafka-client.crt"] == ("kafka-client", "tls.crt") and mounted["kafka-client.key"] == ("kafka-client", "tls.key")
    # A pool takes worker's Kafka settings under its own, or none.
    payments = {name: e["value"] for name, e in env(container(objects, "Deployment", "rc-rollcall-worker-payments")).items() if "value" in e}
    assert payments["KAFKA_TOPICS"] == "payment-replies" and payments["KAFKA_BATCH"] == "100"
    assert payments["KAFKA_REQUEST_TOPIC"] == "payment-requests" and "KAFKA_REQUEST_TOPIC" not in default
    assert payments["KAFKA_BROKERS"] == default["KAFKA_BROKERS"]
    assert not [k for k in env(container(objects, "Deployment", "rc-rollcall-worker-tags")) if k.startswith("KAFKA_")]
    # Egress to the brokers, only when some pool consumes Kafka.
    assert policy(objects, "worker")["egress"][-1] == {"to": [{"ipBlock": {"cidr": "10.20.0.0/16"}}],
                                                       "ports": [{"port": 9093, "protocol": "TCP"}]}
    assert not any(rule.get("ports") == [{"port": 9093, "protocol": "TCP"}] for rule in policy(all_objects({}), "worker")["egress"])
    assert not [k for k in env(container(all_objects({}), "Deployment", "rc-rollcall-worker")) if k.startswith("KAFKA_")]
    for bad in ({"worker": {"kafka": {"sasl": {"mechanism": "GSSAPI"}}}}, {"worker": {"kafka": {"topics": ["no spaces"]}}},
                {"worker": {"kafka": {"requestTopic": "a/b"}}},
                {"worker": {"kafka": {"brokers": "no-port"}}}, {"worker": {"kafka": {"unknown": 1}}}):
        try:
            render(bad)
        except helm_python.HelmValuesError:
            continue
        raise AssertionError(f"schema accepted {bad}")


def test_images_are_pinned_by_digest_when_given():
    for render_name in ("pinned", "pinned-sentinel"):
        objects = all_objects(VALUE_SETS[render_name])
        for pod_name, pod in pod_specs(objects).items():
            for spec in pod["containers"] + pod.get("initContainers", []):
                assert re.fullmatch(r"[^@\s]+:[^@\s]+@sha256:[0-9a-f]{64}", spec["image"]), (render_name, pod_name, spec["image"])
    objects = all_objects(VALUE_SETS["pinned"])
    assert container(objects, "Deployment", "rc-rollcall-control-plane")["image"] == \
        "ghcr.io/rollcall/rollcall-control-plane:0.3.0@sha256:" + "a1" * 32
    assert container(objects, "Deployment", "rc-rollcall-worker")["image"].endswith("@sha256:" + "b2" * 32)
    assert container(objects, "Deployment", "rc-rollcall-worker")["image"].startswith("ghcr.io/rollcall/rollcall-worker:")
    assert all("@" not in spec["image"] for pod in pod_specs(all_objects({})).values() for spec in pod["containers"])
    try:
        render({"image": {"digest": {"worker": "latest"}}})
    except helm_python.HelmValuesError:
        return
    raise AssertionError("the schema accepted a digest that is not sha256:<64 hex>")


def test_every_object_names_its_namespace_and_pods_run_as_high_uids():
    for render_name, values in VALUE_SETS.items():
        objects = all_objects(values)
        for (kind, name), obj in objects.items():
            if kind == "ClusterRoleBinding":
                # Cluster-scoped: its name carries the namespace instead, so two releases never share one.
                assert "-rollcall-" in name, name
                continue
            assert obj["metadata"].get("namespace") == "rollcall", f"{render_name}: {kind}/{name} has no namespace"
        for pod_name, pod in pod_specs(objects).items():
            assert pod["securityContext"]["runAsUser"] > 10000, (render_name, pod_name, pod["securityContext"])


def test_each_worker_proves_its_own_name_with_its_pods_service_account_token():
    """auth.serviceAccountTokens (on by default): a ServiceAccount per worker Deployment, a projected token
    for audience rollcall bound to the pod, no admin token in any worker; the control plane verifies against
    the cluster's issuer with its own token and the one ClusterRole discovery needs."""
    objects = all_objects(VALUE_SETS["pools"])
    for deployment in ("rc-rollcall-worker", "rc-rollcall-worker-payments", "rc-rollcall-worker-tags"):
        pod = objects[("Deployment", deployment)]["spec"]["template"]["spec"]
        assert pod["serviceAccountName"] == deployment and pod["automountServiceAccountToken"] is False
        account = objects[("ServiceAccount", deployment)]
        assert account["automountServiceAccountToken"] is False
        sources = secret_sources(objects, deployment)
        assert {"serviceAccountToken": {"path": "identity-token", "audience": "rollcall", "expirationSeconds": 3600}} in sources
        assert all(item["path"] != "auth-token" for s in sources if "secret" in s for item in s["secret"]["items"]), deployment
        assert env(container(objects, "Deployment", deployment))["AUTH_TOKEN_FILE"]["value"] == "/run/secrets/rollcall/identity-token"
    control_plane = env(container(objects, "Deployment", "rc-rollcall-control-plane"))
    assert control_plane["AUTH_OIDC_ISSUER"]["value"] == "https://kubernetes.default.svc.cluster.local"
    assert control_plane["AUTH_AUDIENCE"]["value"] == "rollcall"
    assert control_plane["AUTH_OIDC_TOKEN_FILE"]["value"] == "/run/secrets/rollcall/kube-api-token"
    assert control_plane["AUTH_OIDC_CA_FILE"]["value"] == "/run/secrets/rollcall/kube-api-ca.crt"
    assert (control_plane["RATE_LIMIT"]["value"], control_plane["RATE_LIMIT_BURST"]["value"]) == ("20/s", "40")
    sources = secret_sources(objects, "rc-rollcall-control-plane")
    assert {"serviceAccountToken": {"path": "kube-api-token", "expirationSeconds": 3600}} in sources
    assert {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "kube-api-ca.crt"}]}} in sources
    binding = objects[("ClusterRoleBinding", "rc-rollcall-control-plane-rollcall-issuer-discovery")]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:service-account-issuer-discovery"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "rc-rollcall-control-plane", "namespace": "rollcall"}]
    assert not of_kind(objects, "Role") and not of_kind(objects, "ClusterRole") and not of_kind(objects, "RoleBinding")
    # The reader token (KEDA, the status page) is a tokens-file entry read from the Secret.
    tokens = yaml.safe_load(objects[("ConfigMap", "rc-rollcall-pools")]["data"]["tokens.yaml"])
    assert tokens == {"tokens": [{"name": "reader", "role": "reader", "tokenFile": "/run/secrets/rollcall/reader-token"}]}
    # Off: the workers use the admin token, as before, and nothing of the above is rendered.
    objects = all_objects(VALUE_SETS["admin-token-workers"])
    assert env(container(objects, "Deployment", "rc-rollcall-worker"))["AUTH_TOKEN_FILE"]["value"] == "/run/secrets/rollcall/auth-token"
    assert "AUTH_OIDC_ISSUER" not in env(container(objects, "Deployment", "rc-rollcall-control-plane"))
    assert "RATE_LIMIT" not in env(container(objects, "Deployment", "rc-rollcall-control-plane"))
    assert not of_kind(objects, "ClusterRoleBinding") and set(of_kind(objects, "ServiceAccount")) == {"rc-rollcall-control-plane"}
    assert "serviceAccounts" not in yaml.safe_load(objects[("ConfigMap", "rc-rollcall-pools")]["data"]["pools.yaml"])["pools"][0]


def test_tls_serves_the_control_plane_over_https_from_a_cert_manager_certificate():
    objects = all_objects(VALUE_SETS["tls"])
    certificate = objects[("Certificate", "rc-rollcall-control-plane")]
    assert certificate["spec"]["secretName"] == "rc-rollcall-control-plane-tls"
    assert certificate["spec"]["dnsNames"] == ["rc-rollcall-control-plane", "rc-rollcall-control-plane.rollcall",
                                               "rc-rollcall-control-plane.rollcall.svc", "rc-rollcall-control-plane.rollcall.svc.cluster.local"]
    assert certificate["spec"]["issuerRef"] == {"name": "cluster-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"}
    control_plane = container(objects, "Deployment", "rc-rollcall-control-plane")
    variables = env(control_plane)
    assert (variables["TLS_CERT_FILE"]["value"], variables["TLS_KEY_FILE"]["value"]) == ("/run/secrets/rollcall/tls.crt", "/run/secrets/rollcall/tls.key")
    assert {"secret": {"name": "rc-rollcall-control-plane-tls", "items": [{"key": "tls.crt", "path": "tls.crt"}, {"key": "tls.key", "path": "tls.key"}]}} \
        in secret_sources(objects, "rc-rollcall-control-plane")
    assert control_plane["readinessProbe"]["httpGet"]["scheme"] == "HTTPS" and control_plane["livenessProbe"]["httpGet"]["scheme"] == "HTTPS"
    for deployment in ("rc-rollcall-worker", "rc-rollcall-worker-payments"):
        variables = env(container(objects, "Deployment", deployment))
        assert variables["CONTROL_PLANE_URL"]["value"] == "https://rc-rollcall-control-plane:8080"
        assert variables["CONTROL_PLANE_CA_FILE"]["value"] == "/run/secrets/rollcall/control-plane-ca.crt"
        assert variables["DATABASE_CA_FILE"]["value"] == "/run/secrets/rollcall/database-ca.crt"
        assert {"secret": {"name": "db-ca", "items": [{"key": "ca.crt", "path": "database-ca.crt"}]}} in secret_sources(objects, deployment)
    monitor = objects[("PodMonitor", "rc-rollcall-control-plane")]["spec"]["podMetricsEndpoints"][0]
    assert monitor["scheme"] == "https" and monitor["tlsConfig"]["serverName"] == "rc-rollcall-control-plane.rollcall.svc"
    scaled = objects[("ScaledObject", "rc-rollcall-worker")]["spec"]["triggers"][0]["metadata"]
    assert scaled["url"].startswith("https://rc-rollcall-control-plane.rollcall.svc:8080/")
    assert {"parameter": "ca", "name": "rc-rollcall-control-plane-tls", "key": "ca.crt"} in \
        objects[("TriggerAuthentication", "rc-rollcall-autoscaling")]["spec"]["secretTargetRef"]
    pools = yaml.safe_load(objects[("ConfigMap", "rc-rollcall-pools")]["data"]["pools.yaml"])["pools"]
    assert (pools[1]["rateLimit"], pools[1]["rateLimitBurst"]) == ("5/s", 10)
    # A Secret of yours instead of cert-manager's.
    objects = all_objects({"tls": {"enabled": True, "existingSecret": "my-tls"}})
    assert not of_kind(objects, "Certificate")
    assert env(container(objects, "Deployment", "rc-rollcall-worker"))["CONTROL_PLANE_URL"]["value"].startswith("https://")
    assert {"secret": {"name": "my-tls", "items": [{"key": "ca.crt", "path": "control-plane-ca.crt"}]}} in secret_sources(objects, "rc-rollcall-worker")


def test_the_control_plane_admits_the_chart_s_callers_as_the_rendered_configuration_says():
    """The control-plane binary with the rendered access settings (tokens file, reader and admin tokens,
    rate limit) on the Redis scripts/test-chart started: the reader token reads and cannot heartbeat, the
    admin token heartbeats, a wrong token gets 401, and the rate limit answers 429."""
    import urllib.error
    import urllib.request
    objects, _ = render(VALUE_SETS["admin-token-workers"] | {"auth": {"serviceAccountTokens": {"enabled": False}, "rateLimit": "1/s",
                                                                      "rateLimitBurst": 3}})
    variables = env(container(objects, "Deployment", "rc-rollcall-control-plane"))
    with tempfile.TemporaryDirectory() as directory:
        secrets = os.path.join(directory, "secrets")
        os.makedirs(secrets)
        for name, value in (("reader-token", "reader-secret-0123456789"), ("auth-token", "admin-secret-0123456789")):
            with open(os.path.join(secrets, name), "w") as file:
                file.write(value)
        tokens = objects[("ConfigMap", "rc-rollcall-pools")]["data"]["tokens.yaml"].replace("/run/secrets/rollcall", secrets)
        with open(os.path.join(directory, "tokens.yaml"), "w") as file:
            file.write(tokens)
        port = loopback_port()
        process = subprocess.Popen([os.path.join(os.environ["ROLLCALL_METRICS_BIN"], "control-plane")],
                                   env=dict(os.environ, PORT=str(port), HOST="127.0.0.1", LOG_LEVEL="warning",
                                            AUTH_TOKEN_FILE=os.path.join(secrets, "auth-token"),
                                            AUTH_TOKENS_FILE=os.path.join(directory, "tokens.yaml"),
                                            RATE_LIMIT=variables["RATE_LIMIT"]["value"], RATE_LIMIT_BURST=variables["RATE_LIMIT_BURST"]["value"],
                                            REDIS_URL=os.environ["ROLLCALL_METRICS_REDIS_URL"], REDIS_KEY_PREFIX="chart-access:"),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

        def call(method, path, token, body=None):
            request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method, data=body,
                                             headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    return response.status
            except urllib.error.HTTPError as error:
                return error.code
        try:
            eventually(lambda: call("GET", "/v1/workers", "admin-secret-0123456789") == 200, 30, "the control plane answers")
            beat = b'{"instance": "i1"}'
            assert call("GET", "/v1/fleet", "reader-secret-0123456789") == 200
            assert call("POST", "/v1/workers/pod-a/heartbeat", "reader-secret-0123456789", beat) == 403
            assert call("GET", "/v1/workers", "wrong-token") == 401
            # Admitted: 200, or 503 while the new installation waits out recovery; never 401 or 403.
            assert call("POST", "/v1/workers/pod-a/heartbeat", "admin-secret-0123456789", beat) in (200, 503)
            # The reader's bucket: 3 at once, then 429.
            statuses = [call("GET", "/v1/workers", "reader-secret-0123456789") for _ in range(4)]
            assert 429 in statuses, statuses
        finally:
            process.terminate()
            process.communicate(timeout=10)


def run_checkov(directory):
    """checkov's failed checks over every render, as (render, check id, resource) with the check's name."""
    result = subprocess.run([os.path.join(CHECKOV_BIN, "checkov"), "--directory", directory, "--framework", "kubernetes",
                             "--output", "json", "--quiet", "--skip-download"], capture_output=True, text=True)
    reports = json.loads(result.stdout) if result.stdout.strip() else []
    reports = reports if isinstance(reports, list) else [reports]
    failed, passed = [], 0
    for report in reports:
        passed += report.get("summary", {}).get("passed", 0)
        for item in report.get("results", {}).get("failed_checks", []):
            render_name = item["file_path"].strip("/").split("/")[0]
            failed.append((render_name, item["check_id"], item["resource"], item["check_name"]))
    return passed, failed


def test_checkov_passes_every_rendering_but_the_skips_it_names():
    directory = tempfile.mkdtemp(prefix="rollcall-checkov.")
    try:
        for render_name, values in VALUE_SETS.items():
            os.makedirs(os.path.join(directory, render_name))
            for index, (path, text) in enumerate(render(values)[1].items()):
                if path.endswith(".yaml") and text.strip():
                    with open(os.path.join(directory, render_name, f"{index}-{os.path.basename(path)}"), "w") as file:
                        file.write(text)
        passed, failed = run_checkov(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    assert passed > 0, "checkov ran no check"

    def skipped(render_name, check_id, resource):
        for rule_id, renders, resources, _ in CHECKOV_SKIPS:
            if rule_id != check_id:
                continue
            if renders == "unpinned" and render_name.startswith("pinned"):
                continue
            if resources == "*" or re.fullmatch(resources.replace(".", r"\.").replace("*", ".*"), resource):
                return True
        return False

    unexpected = [f for f in failed if not skipped(*f[:3])]
    assert not unexpected, "\n".join(f"{r}: {c} {res} ({name})" for r, c, res, name in unexpected)
    print(f"     checkov over {len(VALUE_SETS)} renders: {passed} passed, {len(failed)} failed, all {len(failed)} "
          f"skipped with a reason ({', '.join(sorted({f[1] for f in failed}))})")


PROMTOOL = os.environ.get("ROLLCALL_PROMTOOL", "promtool")
MONITORING = VALUE_SETS["monitoring"]
ALERTS = {"RollcallNoLiveWorkers", "RollcallHandoffsPending", "RollcallRedisUnreachable", "RollcallWorkerLosingLeases",
          "RollcallPartitionsUnowned", "RollcallControlPlaneDown"}
# Grafana's variables, as a query of the dashboard sees them once Grafana substituted them.
DASHBOARD_VARIABLES = {"$__rate_interval": "1m", "$namespace": "rollcall", "$release": "rc", "${datasource}": "prometheus"}


def dashboard(objects):
    config_map = objects[("ConfigMap", "rc-rollcall-dashboard")]
    return config_map, json.loads(config_map["data"]["rollcall.json"])


def dashboard_queries(board):
    queries = []
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for variable, value in DASHBOARD_VARIABLES.items():
                expr = expr.replace(variable, value)
            queries.append((panel["title"], expr))
    return queries


def rule_groups(objects):
    return objects[("PrometheusRule", "rc-rollcall")]["spec"]["groups"]


def metric_names(expr):
    """Every metric an expression selects, from its parse tree (promql-parser, the Prometheus parser's Rust port)."""
    import promql_parser
    names = set()

    def walk(node):
        kind = type(node).__name__
        if kind == "VectorSelector":
            names.add(node.name)
        elif kind == "MatrixSelector":
            walk(node.vector_selector)
        for child in ("expr", "lhs", "rhs", "param"):
            if hasattr(node, child) and getattr(node, child) is not None and not isinstance(getattr(node, child), (str, int, float)):
                walk(getattr(node, child))
        if hasattr(node, "args"):
            for arg in node.args:
                walk(arg)

    walk(promql_parser.parse(expr))
    return names


def test_monitoring_is_opt_in():
    for kind in ("PodMonitor", "PrometheusRule"):
        assert not of_kind(all_objects({}), kind), kind
    assert ("ConfigMap", "rc-rollcall-dashboard") not in all_objects({})


def test_pod_monitors_scrape_every_control_plane_and_worker_pod():
    objects = all_objects(MONITORING)
    monitors = of_kind(objects, "PodMonitor")
    assert set(monitors) == {"rc-rollcall-control-plane", "rc-rollcall-worker"}, set(monitors)
    for component in ("control-plane", "worker"):
        monitor = monitors[f"rc-rollcall-{component}"]
        assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
        pod = objects[("Deployment", f"rc-rollcall-{component}")]["spec"]["template"]
        assert selects(monitor["spec"]["selector"], pod["metadata"]["labels"]), (monitor["spec"]["selector"], pod["metadata"]["labels"])
        assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["rollcall"]}
        endpoint, = monitor["spec"]["podMetricsEndpoints"]
        assert endpoint["path"] == "/metrics" and endpoint["interval"] == "15s"
        assert endpoint["port"] in {p["name"] for p in pod["spec"]["containers"][0]["ports"]}
        assert {(r["targetLabel"], r["replacement"]) for r in endpoint["relabelings"]} == {("rollcall_release", "rc"), ("rollcall_component", component)}


def test_the_dashboard_is_grafana_json_whose_queries_parse():
    import promql_parser
    config_map, board = dashboard(all_objects(MONITORING))
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1", "the Grafana sidecar's label"
    assert config_map["metadata"]["annotations"] == {"grafana_folder": "Rollcall"}
    assert board["uid"] == "rollcall" and board["title"] and isinstance(board["schemaVersion"], int)
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    defined = {variable["name"] for variable in board["templating"]["list"]}
    for panel in board["panels"]:
        position = panel["gridPos"]
        assert position["x"] + position["w"] <= 24 and position["w"] > 0 and position["h"] > 0, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["targets"], f"{panel['title']} has no query"
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        for target in panel["targets"]:
            used = set(re.findall(r"\$\{?(\w+)", target["expr"])) - {"__rate_interval"}
            assert used <= defined, f"{panel['title']}: undefined variables {used - defined}"
    for title, expr in dashboard_queries(board):
        try:
            promql_parser.parse(expr)
        except Exception as error:
            raise AssertionError(f"{title}: {expr}: {error}")
    wanted = ["Live workers", "Heartbeats by outcome", "Leases granted, expired, released", "Partitions moved by layouts",
              "Handoffs pending, partitions unowned", "Redis latency", "Lease safe, per worker", "Partitions owned, per worker",
              "Rows touched, per worker", "Claim failures and fenced partitions", "Snowflake ids issued"]
    titles = [panel["title"] for panel in board["panels"]]
    assert all(title in titles for title in wanted), set(wanted) - set(titles)


def alert_unit_tests():
    """promtool unit tests: each alert fires on the condition it names, after its `for`, and not on its near miss."""
    s = {"namespace": "rollcall", "rollcall_release": "rc"}

    def series(name, values, **labels):
        label_text = ",".join(f'{k}="{v}"' for k, v in {**s, **labels}.items())
        return {"series": f"{name}{{{label_text}}}", "values": values}

    def alert(name, at, *fired):
        return {"eval_time": at, "alertname": name, "exp_alerts": [{"exp_labels": labels} for labels in fired]}

    return [
        {"name": "no live workers in a partitioned pool for 2m, as the leader counts; a numbers-only pool and a former leader's stale figure do not fire",
         "interval": "15s",
         "input_series": [series("rollcall_live_workers", "3x8 1x40", pod="cp-a", pool="default"),
                          series("rollcall_number_only_leases", "0x8 1x40", pod="cp-a", pool="default"),
                          series("rollcall_pool_partitions", "1024x48", pod="cp-a", pool="default"),
                          series("rollcall_live_workers", "0x48", pod="cp-a", pool="tags"),
                          series("rollcall_number_only_leases", "0x48", pod="cp-a", pool="tags"),
                          series("rollcall_pool_partitions", "0x48", pod="cp-a", pool="tags"),
                          series("rollcall_rebalancer_leader", "1x48", pod="cp-a"),
                          series("rollcall_live_workers", "3x48", pod="cp-b", pool="default"),
                          series("rollcall_number_only_leases", "0x48", pod="cp-b", pool="default"),
                          series("rollcall_pool_partitions", "1024x48", pod="cp-b", pool="default"),
                          series("rollcall_rebalancer_leader", "0x48", pod="cp-b")],
         "alert_rule_test": [alert("RollcallNoLiveWorkers", "1m"), alert("RollcallNoLiveWorkers", "3m"),
                             alert("RollcallNoLiveWorkers", "5m", {**s, "pool": "default", "severity": "critical"})]},
        {"name": "handoffs pending on the leader for 1m; a stale figure of a former leader is ignored", "interval": "15s",
         "input_series": [series("rollcall_handoffs_pending", "0x8 5x40", pod="cp-a", pool="payments"),
                          series("rollcall_rebalancer_leader", "1x48", pod="cp-a"),
                          series("rollcall_handoffs_pending", "900x48", pod="cp-b", pool="payments"),
                          series("rollcall_rebalancer_leader", "0x48", pod="cp-b")],
         "alert_rule_test": [alert("RollcallHandoffsPending", "1m"), alert("RollcallHandoffsPending", "2m30s"),
                             alert("RollcallHandoffsPending", "4m", {**s, "pool": "payments", "severity": "warning"})]},
        {"name": "Redis unreachable from one replica for 30s", "interval": "15s",
         "input_series": [series("rollcall_redis_reachable", "1x4 0x20", pod="cp-a"), series("rollcall_redis_reachable", "1x24", pod="cp-b")],
         "alert_rule_test": [alert("RollcallRedisUnreachable", "1m"),
                             alert("RollcallRedisUnreachable", "2m", {**s, "pod": "cp-a", "severity": "critical"})]},
        {"name": "a worker that lost its lease 4 times in 15m; another that lost it once does not fire", "interval": "1m",
         "input_series": [series("rollcall_worker_leases_lost_total", "0 0 1 2 3 4 4 4 4 4", pod="w-1", reason="expired", rollcall_component="worker"),
                          series("rollcall_worker_leases_lost_total", "0 0 0 1 1 1 1 1 1 1", pod="w-2", reason="expired", rollcall_component="worker")],
         "alert_rule_test": [alert("RollcallWorkerLosingLeases", "2m"),
                             alert("RollcallWorkerLosingLeases", "8m", {**s, "pod": "w-1", "severity": "warning"})]},
        {"name": "partitions unowned on the leader for 2m", "interval": "15s",
         "input_series": [series("rollcall_partitions_unowned", "0x4 12x40", pod="cp-a", pool="default"),
                          series("rollcall_rebalancer_leader", "1x44", pod="cp-a"),
                          series("rollcall_partitions_unowned", "1024x44", pod="cp-b", pool="default"),
                          series("rollcall_rebalancer_leader", "0x44", pod="cp-b")],
         "alert_rule_test": [alert("RollcallPartitionsUnowned", "2m"),
                             alert("RollcallPartitionsUnowned", "4m", {**s, "pool": "default", "severity": "critical"})]},
        {"name": "no control plane up for 2m; one up is enough", "interval": "15s",
         "input_series": [series("up", "1x4 0x40", pod="cp-a", rollcall_component="control-plane"),
                          series("up", "1x20 0x24", pod="cp-b", rollcall_component="control-plane"),
                          series("up", "1x44", pod="w-1", rollcall_component="worker")],
         "alert_rule_test": [alert("RollcallControlPlaneDown", "4m"), alert("RollcallControlPlaneDown", "6m"),
                             alert("RollcallControlPlaneDown", "9m", {**s, "severity": "critical"})]},
    ]


def test_the_alert_rules_pass_promtool_and_fire_on_their_conditions():
    groups = rule_groups(all_objects(MONITORING))
    assert {rule["alert"] for group in groups for rule in group["rules"]} == ALERTS
    with tempfile.TemporaryDirectory() as directory:
        with open(os.path.join(directory, "rules.yaml"), "w") as file:
            yaml.safe_dump({"groups": groups}, file)
        result = subprocess.run([PROMTOOL, "check", "rules", "rules.yaml"], cwd=directory, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
        # The unit tests compare labels and annotations; the annotations are prose, so the tested copy has none.
        bare = [{**group, "rules": [{k: v for k, v in rule.items() if k != "annotations"} for rule in group["rules"]]} for group in groups]
        with open(os.path.join(directory, "bare.yaml"), "w") as file:
            yaml.safe_dump({"groups": bare}, file)
        with open(os.path.join(directory, "tests.yaml"), "w") as file:
            yaml.safe_dump({"rule_files": ["bare.yaml"], "evaluation_interval": "15s", "tests": alert_unit_tests()}, file)
        result = subprocess.run([PROMTOOL, "test", "rules", "tests.yaml"], cwd=directory, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
    tested = {case["alertname"] for test in alert_unit_tests() for case in test["alert_rule_test"]}
    assert tested == ALERTS, ALERTS - tested


def scrape(url):
    import urllib.request
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    return {re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0) for line in text.splitlines() if line and not line.startswith("#")}


def test_every_metric_the_dashboard_and_alerts_use_is_one_the_binaries_export():
    """Starts a control plane and a worker (binaries from ROLLCALL_METRICS_BIN, against the Redis and
    PostgreSQL scripts/test-chart started) and scrapes both."""
    bin_dir = os.environ["ROLLCALL_METRICS_BIN"]
    cp_port, worker_port = loopback_port(), loopback_port()
    env = dict(os.environ, REDIS_URL=os.environ["ROLLCALL_METRICS_REDIS_URL"], DATABASE_URL=os.environ["ROLLCALL_METRICS_DATABASE_URL"],
               HOST="127.0.0.1", LOG_LEVEL="warning")
    subprocess.run([os.path.join(bin_dir, "worker"), "migrate"], env=env, check=True, capture_output=True)
    processes = [subprocess.Popen([os.path.join(bin_dir, "control-plane")], env={**env, "PORT": str(cp_port)},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
                 subprocess.Popen([os.path.join(bin_dir, "worker")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  env={**env, "PORT": str(worker_port), "POD_NAME": "metrics-check", "CONTROL_PLANE_URL": f"http://127.0.0.1:{cp_port}"})]
    try:
        exported = set()
        for port in (cp_port, worker_port):
            eventually(lambda: scrape(f"http://127.0.0.1:{port}/metrics"), 30, f"/metrics on {port}")
            exported |= scrape(f"http://127.0.0.1:{port}/metrics")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(10)
    objects = all_objects(MONITORING)
    used = {}
    for _, expr in dashboard_queries(dashboard(objects)[1]):
        for name in metric_names(expr):
            used.setdefault(name, "the dashboard")
    for group in rule_groups(objects):
        for rule in group["rules"]:
            for name in metric_names(rule["expr"]):
                used.setdefault(name, rule["alert"])
    # `up` is Prometheus's own, one per scraped target.
    missing = {name: where for name, where in used.items() if name != "up" and name not in exported}
    assert not missing, f"used but not exported: {missing}"
    print(f"     {len(used)} metrics used by the dashboard and the alerts, all among the {len(exported)} series names the binaries export")


# KEDA's ScaledObject and TriggerAuthentication, as their CRDs define them (kedacore/keda,
# config/crd/bases/keda.sh_scaledobjects.yaml and keda.sh_triggerauthentications.yaml, keda.sh/v1alpha1):
# the fields and types of what the chart writes. A field the CRD does not define would be pruned by the
# API server without a word, so an unknown one fails here. int32: an integer in the int32 range.
INT32 = {"type": "int32"}
KEDA_SCHEMAS = {
    "ScaledObject": {"type": "object", "required": ["scaleTargetRef", "triggers"], "properties": {
        "scaleTargetRef": {"type": "object", "required": ["name"], "properties": {
            "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "name": {"type": "string"},
            "envSourceContainerName": {"type": "string"}}},
        "pollingInterval": INT32, "cooldownPeriod": INT32, "idleReplicaCount": INT32,
        "minReplicaCount": INT32, "maxReplicaCount": INT32,
        "fallback": {"type": "object", "required": ["failureThreshold", "replicas"],
                     "properties": {"failureThreshold": INT32, "replicas": INT32}},
        "advanced": {"type": "object", "properties": {
            "restoreToOriginalReplicaCount": {"type": "boolean"},
            "horizontalPodAutoscalerConfig": {"type": "object", "properties": {
                "behavior": {"type": "object", "properties": {
                    direction: {"type": "object", "properties": {
                        "stabilizationWindowSeconds": INT32, "selectPolicy": {"type": "string"},
                        "policies": {"type": "array", "items": {"type": "object", "required": ["periodSeconds", "type", "value"],
                                                                 "properties": {"periodSeconds": INT32, "type": {"type": "string"},
                                                                                "value": INT32}}}}}
                    for direction in ("scaleUp", "scaleDown")}}}}}},
        "triggers": {"type": "array", "items": {"type": "object", "required": ["metadata", "type"], "properties": {
            "type": {"type": "string"}, "name": {"type": "string"},
            "metricType": {"enum": ["Value", "AverageValue", "Utilization"]},
            "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
            "authenticationRef": {"type": "object", "required": ["name"],
                                  "properties": {"name": {"type": "string"}, "kind": {"type": "string"}}}}}}}},
    "TriggerAuthentication": {"type": "object", "properties": {
        "secretTargetRef": {"type": "array", "items": {"type": "object", "required": ["parameter", "name", "key"], "properties": {
            "parameter": {"type": "string"}, "name": {"type": "string"}, "key": {"type": "string"}}}}}},
}


def crd_problems(value, schema, path="spec"):
    """Where `value` breaks `schema` (the subset of OpenAPI v3 the KEDA CRDs above use), as messages."""
    if "enum" in schema:
        return [] if value in schema["enum"] else [f"{path}: {value!r} is not one of {schema['enum']}"]
    kind = schema["type"]
    if kind == "int32":
        ok = isinstance(value, int) and not isinstance(value, bool) and -2**31 <= value < 2**31
        return [] if ok else [f"{path}: {value!r} is not an int32"]
    if kind in ("string", "boolean"):
        return [] if isinstance(value, {"string": str, "boolean": bool}[kind]) else [f"{path}: {value!r} is not a {kind}"]
    if kind == "array":
        if not isinstance(value, list):
            return [f"{path}: not an array"]
        return [p for i, item in enumerate(value) for p in crd_problems(item, schema["items"], f"{path}[{i}]")]
    if not isinstance(value, dict):
        return [f"{path}: not an object"]
    problems = [f"{path}: {name} is required" for name in schema.get("required", []) if name not in value]
    for name, item in value.items():
        if name in schema.get("properties", {}):
            problems += crd_problems(item, schema["properties"][name], f"{path}.{name}")
        elif "additionalProperties" in schema:
            problems += crd_problems(item, schema["additionalProperties"], f"{path}.{name}")
        else:
            problems.append(f"{path}: {name} is not a field the CRD defines")
    return problems


def test_the_crd_check_catches_what_keda_would_refuse_or_prune():
    good = {"scaleTargetRef": {"name": "w"}, "triggers": [{"type": "metrics-api", "metadata": {"targetValue": "1"}}]}
    assert crd_problems(good, KEDA_SCHEMAS["ScaledObject"]) == []
    for bad, expected in (({**good, "minReplicas": 1}, "minReplicas is not a field"),
                          ({**good, "maxReplicaCount": "8"}, "'8' is not an int32"),
                          ({**good, "triggers": [{"type": "metrics-api", "metadata": {"targetValue": 1}}]}, "1 is not a string"),
                          ({**good, "triggers": [{"type": "metrics-api", "metadata": {}, "metricType": "Average"}]}, "is not one of"),
                          ({"triggers": []}, "scaleTargetRef is required")):
        assert any(expected in p for p in crd_problems(bad, KEDA_SCHEMAS["ScaledObject"])), (bad, expected)


def test_autoscaling_is_off_by_default_and_each_deployment_keeps_its_replicas():
    objects, _ = render()
    assert not of_kind(objects, "ScaledObject") and not of_kind(objects, "TriggerAuthentication")
    assert objects[("Deployment", "rc-rollcall-worker")]["spec"]["replicas"] == 3


def test_autoscaling_scales_each_deployment_to_its_pools_desired_workers_with_keda():
    objects, _ = render(VALUE_SETS["autoscaling"])
    scaled, auths = of_kind(objects, "ScaledObject"), of_kind(objects, "TriggerAuthentication")
    # payments inherits worker.autoscaling.enabled (a worker setting left out takes worker's); batch turns it off.
    assert set(scaled) == {"rc-rollcall-worker", "rc-rollcall-worker-payments"} and set(auths) == {"rc-rollcall-autoscaling"}
    for kind, objs in (("ScaledObject", scaled), ("TriggerAuthentication", auths)):
        for name, obj in objs.items():
            assert obj["apiVersion"] == "keda.sh/v1alpha1", name
            assert crd_problems(obj["spec"], KEDA_SCHEMAS[kind]) == [], (name, crd_problems(obj["spec"], KEDA_SCHEMAS[kind]))
    service = objects[("Service", "rc-rollcall-control-plane")]
    port = next(p["port"] for p in service["spec"]["ports"] if p["name"] == "http")
    for name, pool, minimum, maximum, polling in (("rc-rollcall-worker", "default", 1, 1024, 15),
                                                  ("rc-rollcall-worker-payments", "payments", 2, 12, 30)):
        spec = scaled[name]["spec"]
        target = spec["scaleTargetRef"]
        deployment = objects[(target["kind"], target["name"])]
        assert target["apiVersion"] == "apps/v1" and target["name"] == name and deployment["metadata"]["labels"]["rollcall.io/pool"] == pool
        assert "replicas" not in deployment["spec"], f"{name}: KEDA's HPA owns the replicas, an upgrade must not reset them"
        assert (spec["minReplicaCount"], spec["maxReplicaCount"], spec["pollingInterval"]) == (minimum, maximum, polling), spec
        (trigger,) = spec["triggers"]
        assert trigger["type"] == "metrics-api" and trigger["metricType"] == "AverageValue"
        metadata = trigger["metadata"]
        # desiredWorkers averaged over the replicas against a target of 1: the HPA sets the replicas to it.
        assert (metadata["valueLocation"], metadata["targetValue"], metadata["authMode"]) == ("desiredWorkers", "1", "bearer")
        assert metadata["url"] == f"http://rc-rollcall-control-plane.rollcall.svc:{port}/v1/pools/{pool}/fleet", metadata["url"]
        assert trigger["authenticationRef"]["name"] == "rc-rollcall-autoscaling"
    assert objects[("Deployment", "rc-rollcall-worker-batch")]["spec"]["replicas"] == 1
    # The token KEDA sends is the API token the control plane checks (here an existing Secret).
    # KEDA reads with the reader token, not the admin one.
    assert auths["rc-rollcall-autoscaling"]["spec"]["secretTargetRef"] == [{"parameter": "token", "name": "api-token", "key": "reader-token"}]
    assert {"secret": {"name": "api-token", "items": [{"key": "token", "path": "auth-token"}, {"key": "reader-token", "path": "reader-token"}]}} \
        in secret_sources(objects, "rc-rollcall-control-plane")
    generated, _ = render({"controlPlane": {"targetLoadPerWorker": 5}, "worker": {"autoscaling": {"enabled": True}}})
    (auth,) = of_kind(generated, "TriggerAuthentication").values()
    assert auth["spec"]["secretTargetRef"] == [{"parameter": "token", "name": "rc-rollcall", "key": "reader-token"}]
    assert "reader-token" in generated[("Secret", "rc-rollcall")]["data"]
    # Each pool's target is in the pools file the control plane reads.
    pools = {p["name"]: p for p in yaml.safe_load(objects[("ConfigMap", "rc-rollcall-pools")]["data"]["pools.yaml"])["pools"]}
    assert pools["default"]["targetLoadPerWorker"] == 500 and pools["payments"]["targetLoadPerWorker"] == 40
    # KEDA's operator may call the control plane.
    objects = all_objects(VALUE_SETS["autoscaling"])
    keda = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "keda"}}}
    assert keda in policy(objects, "control-plane")["ingress"][0]["from"]
    assert keda not in policy(all_objects({}), "control-plane")["ingress"][0]["from"]


def test_autoscaling_that_cannot_work_is_refused():
    for values, expected in (
        ({"worker": {"autoscaling": {"enabled": True}}}, "autoscaling needs the pool's targetLoadPerWorker (controlPlane.targetLoadPerWorker)"),
        ({"workers": {"tags": {"replicaCount": 1, "partitions": 0, "targetLoadPerWorker": 5, "autoscaling": {"enabled": True}}}},
         "a pool of numbers only has no load to scale by"),
        ({"controlPlane": {"targetLoadPerWorker": 5}, "worker": {"autoscaling": {"enabled": True, "minReplicaCount": 9, "maxReplicaCount": 4}}},
         "maxReplicaCount 4 is below minReplicaCount 9"),
        ({"worker": {"autoscaling": {"enabled": True, "minReplicaCount": 0}}}, "values don't meet"),
        ({"worker": {"autoscaling": {"enabled": True, "minReplicas": 1}}}, "values don't meet"),
        ({"controlPlane": {"targetLoadPerWorker": 0}}, "values don't meet"),
    ):
        try:
            render(values)
        except Exception as error:
            assert expected in str(error) or ("values don't meet" == expected and "schema" in str(error).lower()), (values, error)
        else:
            raise AssertionError(f"accepted: {values}")


def test_the_fleet_url_keda_reads_answers_desired_workers_from_the_control_plane():
    """The ScaledObject's URL path, asked of the control-plane binary (ROLLCALL_METRICS_BIN) with the
    rendered pools file and the bearer token, answers a number at valueLocation, as KEDA's scaler needs."""
    import urllib.request
    objects, _ = render(VALUE_SETS["autoscaling"])
    urls = {name: so["spec"]["triggers"][0]["metadata"] for name, so in of_kind(objects, "ScaledObject").items()}
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "pools.yaml")
        with open(path, "w") as file:
            file.write(objects[("ConfigMap", "rc-rollcall-pools")]["data"]["pools.yaml"])
        port = loopback_port()
        process = subprocess.Popen([os.path.join(os.environ["ROLLCALL_METRICS_BIN"], "control-plane")],
                                   env=dict(os.environ, POOLS_FILE=path, PORT=str(port), HOST="127.0.0.1", LOG_LEVEL="warning",
                                            AUTH_TOKEN="keda-token", REDIS_URL=os.environ["ROLLCALL_METRICS_REDIS_URL"],
                                            REDIS_KEY_PREFIX="chart-fleet:"),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            def fleet(metadata, token="keda-token"):
                url = f"http://127.0.0.1:{port}" + "/" + metadata["url"].split("/", 3)[3]
                request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
                with urllib.request.urlopen(request, timeout=5) as response:
                    return json.load(response)
            answers = {name: eventually(lambda m=metadata: fleet(m), 30, "the fleet answers") for name, metadata in urls.items()}
            try:
                fleet(urls["rc-rollcall-worker"], token="wrong")
                raise AssertionError("a wrong token was served")
            except urllib.error.HTTPError as error:
                assert error.code == 401
        finally:
            process.terminate()
            _, stderr = process.communicate(timeout=10)
    for name, answer in answers.items():
        value = answer[urls[name]["valueLocation"]]
        assert isinstance(value, int) and value == 0, (name, answer, stderr)
    assert answers["rc-rollcall-worker-payments"]["targetLoadPerWorker"] == 40 and answers["rc-rollcall-worker"]["maxWorkers"] == 1024


def test_hadolint_passes_on_the_dockerfile():
    result = subprocess.run([os.path.join(BIN, "hadolint"), "--config", os.path.join(ROOT, ".hadolint.yaml"),
                             os.path.join(ROOT, "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
