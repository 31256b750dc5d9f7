"""Checks of the images scripts/build-images exported, run by scripts/test-images (which starts Redis and
PostgreSQL on loopback and passes them in ROLLCALL_TEST_REDIS_PORT, ROLLCALL_TEST_DATABASE_URL).

Each OCI archive is unpacked as a container runtime would: its layers in order into a root filesystem.
The image's own config (user, entrypoint, environment) starts its entrypoint there the way the chart's
pods run it: root filesystem read-only, uid 10001, no capabilities, secrets as read-only files, the
host's loopback network. Then: the control plane answers /readyz, `worker seed` inserts rows, the worker
leases a number and claims partitions, and an unreadable secret file stops a binary with a clear error.
The images are also checked against the Dockerfile (packages, user, entrypoints, ports) so the two
cannot drift. One check: scripts/test-images -k NAME (ROLLCALL_SKIP_IMAGE_BUILD=1 reuses the images)."""
import json
import os
import re
import shutil
import signal
import subprocess
import tarfile
import tempfile
import urllib.request

import pytest

from rollcall_testing.chart import render
from rollcall_testing.paths import ROOT
from rollcall_testing.ports import free_port as loopback_port
from rollcall_testing.waiting import eventually

IMAGES = os.path.join(ROOT, ".build-images")
SECRETS_MOUNT = "/run/secrets/rollcall"
POOLS_MOUNT = "/etc/rollcall/pools"  # where the chart mounts its pools ConfigMap


# --- The Dockerfile, read as the contract ------------------------------------------------------------

def dockerfile():
    """Stages of the Dockerfile: name -> {"from", "packages", "user", "uid", "entrypoint", "expose", "copy"}."""
    text = open(os.path.join(ROOT, "Dockerfile")).read().replace("\\\n", " ")
    stages, current = {}, None
    for line in text.splitlines():
        line = line.strip()
        if match := re.match(r"FROM\s+(\S+)\s+AS\s+(\S+)", line, re.I):
            current = stages.setdefault(match[2], {"from": match[1], "packages": [], "copy": []})
        elif current is None or not line or line.startswith("#"):
            continue
        elif line.startswith("RUN"):
            if "apt-get install" in line:
                install = line.split("apt-get install", 1)[1].split("&&")[0].split()
                current["packages"] += [word for word in install if not word.startswith("-")]
            if match := re.search(r"useradd\s.*--uid\s+(\d+)", line):
                current["uid"] = match[1]
        elif line.startswith("USER"):
            current["user"] = line.split()[1]
        elif line.startswith("ENTRYPOINT"):
            current["entrypoint"] = json.loads(line[len("ENTRYPOINT"):])
        elif line.startswith("EXPOSE"):
            current["expose"] = line.split()[1:]
        elif line.startswith("COPY"):
            current["copy"].append(line.split()[-1])
    return stages


def inherited(stages, name, key):
    while name in stages:
        if key in stages[name] and stages[name][key]:
            return stages[name][key]
        name = stages[name]["from"]
    return None


# --- OCI archives ------------------------------------------------------------------------------------

def unpack(archive, into):
    """Unpacks an OCI archive's single image into `into`/rootfs; returns its config."""
    blobs = os.path.join(into, "oci")
    with tarfile.open(archive) as tar:
        tar.extractall(blobs, filter="data")

    def blob(digest):
        algorithm, value = digest.split(":")
        return os.path.join(blobs, "blobs", algorithm, value)

    index = json.load(open(os.path.join(blobs, "index.json")))
    assert len(index["manifests"]) == 1, index
    manifest = json.load(open(blob(index["manifests"][0]["digest"])))
    config = json.load(open(blob(manifest["config"]["digest"])))
    rootfs = os.path.join(into, "rootfs")
    os.makedirs(rootfs)
    for layer in manifest["layers"]:
        # GNU tar as root keeps owners and modes, as a runtime does (Python's tarfile filter would drop them).
        subprocess.run(["tar", "-xf", blob(layer["digest"]), "-C", rootfs, "--numeric-owner"], check=True)
    shutil.rmtree(blobs)
    config["_sizes"] = [layer["size"] for layer in manifest["layers"]]
    return config


def installed_packages(rootfs):
    """dpkg's database in the image: name -> {"priority", "depends"}."""
    packages = {}
    for entry in open(os.path.join(rootfs, "var/lib/dpkg/status")).read().split("\n\n"):
        fields = dict(re.findall(r"^([A-Za-z-]+): (.*)$", entry, re.M))
        if fields.get("Status", "").endswith(" installed"):
            depends = re.split(r"[,|]", fields.get("Depends", "") + "," + fields.get("Pre-Depends", ""))
            packages[fields["Package"]] = {
                "priority": fields.get("Priority"),
                "depends": {d.split()[0].split(":")[0] for d in depends if d.strip()},
            }
    return packages


# --- Starting an image the way a pod would ------------------------------------------------------------

# In a mount namespace of its own: the root filesystem bound read-only, /proc, a /dev with the usual
# nodes only, the secrets folder and the pools ConfigMap's folder read-only; then the entrypoint as uid 10001 with no capabilities
# (chroot --userspec drops them as the user is not root). The mounts vanish with the namespace.
LAUNCH = r"""
set -e
root=$1 secrets=$2 config=$3 user=$4; shift 4
mount --bind "$root" "$root"
mount -t proc proc "$root/proc"
mount -t tmpfs -o mode=755,nosuid devtmp "$root/dev"
for node in null zero random urandom full tty; do
    touch "$root/dev/$node"; mount --bind "/dev/$node" "$root/dev/$node"
done
mount --bind "$secrets" "$root/run/secrets/rollcall"
mount -o remount,bind,ro "$root/run/secrets/rollcall"
mount --bind "$config" "$root/etc/rollcall/pools"
mount -o remount,bind,ro "$root/etc/rollcall/pools"
mount -o remount,bind,ro "$root"
exec chroot --userspec="$user" "$root" "$@"
"""


class Image:
    def __init__(self, name, work):
        self.name = name
        self.work = os.path.join(work, name)
        self.config = unpack(os.path.join(IMAGES, f"{name}.oci.tar"), self.work)
        self.rootfs = os.path.join(self.work, "rootfs")
        # The runtime creates mount points in the container's own layer before making it read-only.
        os.makedirs(os.path.join(self.rootfs, SECRETS_MOUNT.lstrip("/")), exist_ok=True)
        os.makedirs(os.path.join(self.rootfs, POOLS_MOUNT.lstrip("/")), exist_ok=True)

    @property
    def user(self):
        return self.config["config"]["User"]

    def command(self, arguments=(), entrypoint=None):
        return ["unshare", "--mount", "--propagation", "private", "--fork", "--", "sh", "-c", LAUNCH, "launch",
                self.rootfs, SECRETS.folder, CONFIG, self.user, *(entrypoint or self.config["config"]["Entrypoint"]), *arguments]

    def environment(self, extra):
        base = dict(variable.split("=", 1) for variable in self.config["config"].get("Env", []))
        return {**base, **extra}

    def run(self, arguments, extra, timeout=60):
        return subprocess.run(self.command(arguments), env=self.environment(extra), capture_output=True, text=True,
                              timeout=timeout)

    def start(self, arguments, extra, log):
        return subprocess.Popen(self.command(arguments), env=self.environment(extra), stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)


class Secrets:
    """Files as Kubernetes mounts a Secret: one per key, in a folder the container sees read-only."""

    def __init__(self, work):
        self.folder = os.path.join(work, "secrets")
        os.makedirs(self.folder)
        os.chmod(self.folder, 0o755)

    def put(self, key, value):
        path = os.path.join(self.folder, key)
        with open(path, "w") as file:
            file.write(value + "\n")
        os.chown(path, 0, 10001)  # as fsGroup 10001 does in the chart
        os.chmod(path, 0o440)
        return f"{SECRETS_MOUNT}/{key}"


def http(url, token=None, timeout=2):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, response.read().decode()


def processes_running(path):
    """PIDs whose executable is `path` inside some root (the entrypoint of a started image)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")[0].decode() == path:
                found.append(int(pid))
        except OSError:
            pass
    return found


def stop(process, expect_clean=True):
    os.killpg(process.pid, signal.SIGTERM)
    try:
        code = process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise AssertionError("did not stop within 30 s of SIGTERM")
    if expect_clean:
        assert code == 0, f"exit status {code} after SIGTERM"


def redis(*arguments):
    return subprocess.run(["redis-cli", "-p", REDIS_PORT, "--no-auth-warning", "-a", REDIS_PASSWORD, *arguments],
                          capture_output=True, text=True, check=True).stdout


def psql(sql, database=None):
    url = DATABASE_URL if database is None else DATABASE_URL.rsplit("/", 1)[0] + "/" + database
    return subprocess.run(["psql", url, "-tAc", sql], capture_output=True, text=True, check=True).stdout.strip()


# --- Checks ------------------------------------------------------------------------------------------

def test_images_match_the_dockerfile():
    stages = dockerfile()
    packages = stages["runtime"]["packages"]
    assert packages, "no apt-get install in the Dockerfile's runtime stage"
    for image, target in ((CONTROL_PLANE, "control-plane"), (WORKER, "worker")):
        config = image.config["config"]
        assert config["User"] == inherited(stages, target, "user"), (config["User"], target)
        assert config["Entrypoint"] == stages[target]["entrypoint"], (config["Entrypoint"], target)
        assert sorted(config.get("ExposedPorts", {})) == [f"{port}/tcp" for port in stages[target]["expose"]], target
        assert stages[target]["copy"] == config["Entrypoint"][:1], "the COPY target is the entrypoint"
        assert config.get("WorkingDir", "/") == "/"
        uid = inherited(stages, target, "uid")
        passwd = open(os.path.join(image.rootfs, "etc/passwd")).read()
        assert re.search(rf"^rollcall:x:{uid}:{uid}:", passwd, re.M), f"no rollcall user {uid} in {target}"
        assert config["User"] == f"{uid}:{uid}"
        installed = installed_packages(image.rootfs)
        missing = [p for p in packages if p not in installed]
        assert not missing, f"{target} lacks {missing}"
        # Nothing else: every package is minbase (priority required, and apt: what debian:bookworm-slim is) or
        # needed by a listed one.
        needed, queue = set(), [p for p, info in installed.items() if info["priority"] == "required"] + ["apt"] + packages
        while queue:
            name = queue.pop()
            if name in installed and name not in needed:
                needed.add(name)
                queue += installed[name]["depends"]
        extra = sorted(set(installed) - needed)
        assert not extra, f"{target} has packages the Dockerfile does not install: {extra}"
        unpacked = subprocess.run(["du", "-sm", image.rootfs], capture_output=True, text=True).stdout.split()[0]
        layers = " + ".join(f"{size / 1e6:.1f}" for size in image.config["_sizes"])
        print(f"   {target}: {len(installed)} packages; layers {layers} MB compressed, {unpacked} MB unpacked; "
              f"user {config['User']}, entrypoint {config['Entrypoint']}")


def test_each_binary_finds_every_library_it_links():
    # The Swift runtime and Foundation are inside the binaries (scripts/lib/build.sh): the images carry no
    # Swift library, and the Dockerfile copies none.
    assert "/usr/lib/swift" not in open(os.path.join(ROOT, "Dockerfile")).read()
    for image, binary in ((CONTROL_PLANE, "control-plane"), (WORKER, "worker")):
        result = subprocess.run(["chroot", image.rootfs, "ldd", f"/usr/local/bin/{binary}"], capture_output=True, text=True)
        assert result.returncode == 0 and "not found" not in result.stdout, result.stdout + result.stderr
        assert not re.search(r"libswift|libFoundation|libdispatch", result.stdout), result.stdout
        assert not os.path.exists(os.path.join(image.rootfs, "usr", "lib", "swift")), "no Swift runtime in the image"
        result = image.run(["--version"], {})
        assert result.returncode == 0 and re.match(r"\d+\.\d+", result.stdout.strip()), result.stdout + result.stderr


def test_an_unreadable_secret_file_stops_the_binary_with_a_clear_error():
    result = CONTROL_PLANE.run([], {"AUTH_TOKEN_FILE": f"{SECRETS_MOUNT}/no-such-key"})
    assert result.returncode != 0, result
    assert f"AUTH_TOKEN_FILE={SECRETS_MOUNT}/no-such-key cannot be read" in result.stderr, result.stderr
    root_only = SECRETS.put("root-only", "x")
    os.chmod(os.path.join(SECRETS.folder, "root-only"), 0o400)
    result = WORKER.run(["migrate"], {"DATABASE_PASSWORD_FILE": root_only})
    assert result.returncode != 0 and "DATABASE_PASSWORD_FILE=" in result.stderr and "Permission denied" in result.stderr, result.stderr


def chart_pod(objects, deployment):
    """The container and pod spec of one of the chart's Deployments."""
    pod = objects[("Deployment", deployment)]["spec"]["template"]["spec"]
    return pod["containers"][0], pod


def pod_environment(container, pod_name, replacements):
    """The container's environment as the chart renders it, with Service addresses replaced by loopback ones."""
    environment = {}
    for variable in container["env"]:
        if "value" in variable:
            value = variable["value"]
            for service, local in replacements.items():
                value = value.replace(service, local)
            environment[variable["name"]] = value
        elif variable.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "metadata.name":
            environment[variable["name"]] = pod_name
        else:
            raise AssertionError(f"an environment variable from elsewhere than a value or the pod name: {variable}")
    return environment


def mount_chart_secrets(container, pod, values):
    """Writes the files the chart's projected secrets volume holds, where the chart mounts it."""
    mount = next(m for m in container["volumeMounts"] if m["name"] == "secrets")
    assert mount["mountPath"] == SECRETS_MOUNT and mount["readOnly"], mount
    volume = next(v for v in pod["volumes"] if v["name"] == "secrets")
    for source in volume["projected"]["sources"]:
        for item in source.get("secret", {}).get("items", []):
            SECRETS.put(item["path"], values[item["path"]])


def mount_chart_pools(container, pod, objects):
    """Writes the chart's pools ConfigMap where the chart mounts it (a directory, as the kubelet does)."""
    mount = next(m for m in container["volumeMounts"] if m["name"] == "pools")
    assert mount["mountPath"] == POOLS_MOUNT and mount["readOnly"] and "subPath" not in mount, mount
    volume = next(v for v in pod["volumes"] if v["name"] == "pools")
    for key, text in objects[("ConfigMap", volume["configMap"]["name"])]["data"].items():
        with open(os.path.join(CONFIG, key), "w") as file:
            file.write(text)


def test_the_started_images_serve_lease_and_claim_with_the_charts_settings():
    """Both images started with the environment and the secret files the chart gives their pods (its
    defaults: PARTITIONS 1024, LEASE_TTL 10s, the Redis and PostgreSQL Services) on loopback. The workers
    use the admin token here: a pod's service-account token needs a cluster's issuer (the control
    plane's verification of them is ServiceAccountTokenTests' and the fault suite's)."""
    objects, _ = render({"auth": {"serviceAccountTokens": {"enabled": False}}})
    cp_container, cp_pod = chart_pod(objects, "rc-rollcall-control-plane")
    worker_container, worker_pod = chart_pod(objects, "rc-rollcall-worker")
    assert cp_container["securityContext"]["readOnlyRootFilesystem"] and cp_pod["securityContext"]["runAsUser"] == 10001

    # The chart's database user and database, with a password of their own.
    role_password = "role-" + os.urandom(8).hex()
    psql(f"CREATE ROLE rollcall LOGIN PASSWORD '{role_password}'")
    psql("CREATE DATABASE rollcall OWNER rollcall")
    secrets = {"auth-token": "image-test-token", "reader-token": "image-test-reader-token", "redis-password": REDIS_PASSWORD,
               "database-password": role_password}
    mount_chart_secrets(cp_container, cp_pod, secrets)
    mount_chart_secrets(worker_container, worker_pod, secrets)
    mount_chart_pools(cp_container, cp_pod, objects)

    cp_port, worker_port = loopback_port(), loopback_port()
    postgres_port = re.search(r"@[^:/]+:(\d+)/", DATABASE_URL)[1]
    loopback = {"rc-rollcall-redis:6379": f"127.0.0.1:{REDIS_PORT}", "rc-rollcall-postgresql:5432": f"127.0.0.1:{postgres_port}",
                "rc-rollcall-control-plane:8080": f"127.0.0.1:{cp_port}"}
    cp_environment = {**pod_environment(cp_container, "rc-rollcall-control-plane-0", loopback), "HOST": "127.0.0.1", "PORT": str(cp_port)}
    worker_environment = {**pod_environment(worker_container, "rc-rollcall-worker-7d9f-x2k4q", loopback),
                          "HOST": "127.0.0.1", "PORT": str(worker_port)}
    assert "REDIS_PASSWORD_FILE" in cp_environment and "DATABASE_PASSWORD_FILE" in worker_environment
    partitions = int(cp_environment["PARTITIONS"])

    seeded = WORKER.run(["seed", "--items", "5000", "--partitions", str(partitions)], worker_environment)
    assert seeded.returncode == 0 and f"inserted 5000 work items over {partitions} partitions" in seeded.stdout, seeded.stdout + seeded.stderr

    logs = open(os.path.join(WORK, "control-plane.log"), "w"), open(os.path.join(WORK, "worker.log"), "w")
    control_plane = CONTROL_PLANE.start([], cp_environment, logs[0])
    worker = None
    name = worker_environment["POD_NAME"]
    try:
        eventually(lambda: http(f"http://127.0.0.1:{cp_port}/readyz")[0] == 200, 60, "control plane /readyz")
        pids = processes_running("/usr/local/bin/control-plane")
        assert pids, "no control-plane process"
        status = open(f"/proc/{pids[0]}/status").read()
        assert re.search(r"^Uid:\s+10001\s+10001", status, re.M), "control plane does not run as uid 10001"
        assert re.search(r"^CapEff:\s+0+$", status, re.M), "control plane holds capabilities"
        root_mount = [line for line in open(f"/proc/{pids[0]}/mountinfo") if line.split()[4] == "/"]
        assert root_mount and " ro," in f" {root_mount[0].split()[5]},", root_mount
        status_code, body = http(f"http://127.0.0.1:{cp_port}/v1/layout", "image-test-token")
        assert status_code == 200, body
        # The pools file the chart mounts: the default pool, with the chart's settings.
        status_code, body = http(f"http://127.0.0.1:{cp_port}/v1/pools", "image-test-token")
        pools = json.loads(body)["pools"]
        assert [(p["name"], p["partitions"], p["leaseTTLMillis"]) for p in pools] == [("default", partitions, 10000)], body
        try:
            http(f"http://127.0.0.1:{cp_port}/v1/layout")
            raise AssertionError("the control plane answered /v1 without the token from AUTH_TOKEN_FILE")
        except urllib.error.HTTPError as error:
            assert error.code == 401

        worker = WORKER.start([], worker_environment, logs[1])
        eventually(lambda: http(f"http://127.0.0.1:{worker_port}/readyz")[0] == 200, 60, "worker /readyz")
        state = eventually(lambda: (s := json.loads(http(f"http://127.0.0.1:{worker_port}/v1/status")[1]))["partitionCount"] == partitions and s,
                           60, f"the worker claiming all {partitions} partitions")
        assert state["safe"] and state["number"] == 0 and state["consumerGroup"] == "inbox-0", state
        leased = redis("HGETALL", "workers")
        assert name in leased, leased
        owners = psql(f"SELECT count(*) FROM partition_owners WHERE worker = '{name}'", database="rollcall")
        assert owners == str(partitions), owners
        processed = eventually(lambda: int(psql(f"SELECT count(*) FROM work_items WHERE current_worker = '{name}'", database="rollcall")),
                               30, "work items processed by the image's worker")
        _, ids = http(f"http://127.0.0.1:{worker_port}/v1/ids?count=3")
        assert len(json.loads(ids)["ids"]) == 3, ids
        stop(worker)
        worker = None
        eventually(lambda: name not in redis("HGETALL", "workers"), 10, "the lease released on SIGTERM")
        print(f"   control plane ready; worker {name} leased number {state['number']} ({state['consumerGroup']}), claimed "
              f"{state['partitionCount']} partitions, processed {processed}+ work items, served ids, released its lease on SIGTERM")
    finally:
        for process in (worker, control_plane):
            if process is not None and process.poll() is None:
                stop(process, expect_clean=False)
        for log in logs:
            log.close()
    for log_name in ("control-plane.log", "worker.log"):
        text = open(os.path.join(WORK, log_name)).read()
        for secret in secrets.values():
            assert secret not in text, f"{log_name} shows a secret"


@pytest.fixture(scope="module", autouse=True)
def images():
    """The servers scripts/test-images started, the two images, and a work folder for their root filesystems."""
    global WORK, SECRETS, CONFIG, CONTROL_PLANE, WORKER, REDIS_PORT, REDIS_PASSWORD, DATABASE_URL, DATABASE_PASSWORD
    if os.geteuid() != 0:
        pytest.fail("the image checks need root (mount namespaces, chroot)")
    REDIS_PORT = os.environ["ROLLCALL_TEST_REDIS_PORT"]
    REDIS_PASSWORD = os.environ["ROLLCALL_TEST_REDIS_PASSWORD"]
    DATABASE_URL = os.environ["ROLLCALL_TEST_DATABASE_URL"]
    DATABASE_PASSWORD = re.match(r"postgres://[^:]+:([^@]+)@", DATABASE_URL)[1]
    WORK = tempfile.mkdtemp(prefix="rollcall-images.")
    os.chmod(WORK, 0o755)
    try:
        SECRETS = Secrets(WORK)
        CONFIG = os.path.join(WORK, "pools-configmap")
        os.makedirs(CONFIG)
        os.chmod(CONFIG, 0o755)
        CONTROL_PLANE = Image("rollcall-control-plane", WORK)
        WORKER = Image("rollcall-worker", WORK)
        yield
    finally:
        shutil.rmtree(WORK, ignore_errors=True)


@pytest.fixture(autouse=True)
def logs_of_a_failure(request):
    """After a failed check, the last lines the images logged."""
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for name in ("control-plane.log", "worker.log"):
            path = os.path.join(WORK, name)
            if os.path.exists(path):
                print(f"--- {name} (last lines)\n" + "".join(open(path).readlines()[-20:]))
