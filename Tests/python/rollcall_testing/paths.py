"""Where things are: the repository, the built binaries, the shell helpers."""
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
CHART = os.path.join(ROOT, "chart")


def binaries(*products):
    """The folder of the debug build's binaries, building `products` that are missing."""
    folder = subprocess.run(["swift", "build", "--show-bin-path"], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()
    for product in products:
        if not os.path.exists(os.path.join(folder, product)):
            subprocess.run(["swift", "build", "--product", product], cwd=ROOT, check=True, capture_output=True)
    return folder


def shell(script, check=True):
    """Runs bash with scripts/lib/servers.sh and scripts/lib/redis-ha.sh sourced (starting and stopping
    redis-server, PostgreSQL and Sentinels is theirs); returns the CompletedProcess."""
    done = subprocess.run(["bash", "-c", f". {ROOT}/scripts/lib/servers.sh; . {ROOT}/scripts/lib/redis-ha.sh; {script}"],
                          capture_output=True, text=True)
    if check and done.returncode != 0:
        raise OSError(f"{script} exited with {done.returncode}: {(done.stderr or done.stdout).strip()[-2000:]}")
    return done
