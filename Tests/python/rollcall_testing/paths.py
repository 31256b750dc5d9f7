"""Where things are: the repository, the built binaries, the shell helpers."""
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
CHART = os.path.join(ROOT, "chart")


def binaries(*products):
    """The folder of the project's one build (scripts/lib/build.sh): ROLLCALL_BIN_DIR when scripts/test
    set it, otherwise built here if any of `products` is missing."""
    if os.environ.get("ROLLCALL_BIN_DIR"):
        return os.environ["ROLLCALL_BIN_DIR"]
    build = f"cd {ROOT} && . scripts/lib/build.sh && "
    folder = subprocess.run(["bash", "-c", build + "rollcall_bin_dir"], check=True, capture_output=True, text=True).stdout.strip()
    if not all(os.path.exists(os.path.join(folder, product)) for product in products):
        subprocess.run(["bash", "-c", build + "rollcall_build"], check=True, capture_output=True)
    return folder


def shell(script, check=True):
    """Runs bash with scripts/lib/servers.sh and scripts/lib/redis-ha.sh sourced (starting and stopping
    redis-server, PostgreSQL and Sentinels is theirs); returns the CompletedProcess."""
    done = subprocess.run(["bash", "-c", f". {ROOT}/scripts/lib/servers.sh; . {ROOT}/scripts/lib/redis-ha.sh; {script}"],
                          capture_output=True, text=True)
    if check and done.returncode != 0:
        raise OSError(f"{script} exited with {done.returncode}: {(done.stderr or done.stdout).strip()[-2000:]}")
    return done
