# Shared by the load scripts (sourced after servers.sh).

# rollcall_build_release: the binaries as the images ship them, the project's one release build
# (scripts/lib/build.sh); prints the directory they are in. With ROLLCALL_BIN_DIR set it builds nothing
# and prints that (to compare two builds: copy the first build's binaries aside, then point here).
rollcall_build_release() {
    if [ -n "${ROLLCALL_BIN_DIR:-}" ]; then
        echo "$ROLLCALL_BIN_DIR"
        return
    fi
    . scripts/lib/build.sh
    rollcall_build >&2
    rollcall_bin_dir
}

# rollcall_load_control_plane [NAME=VALUE...]: one control-plane replica (release build) on a fresh
# redis-server, both on loopback, for a script that measures it. Sets work (a temp dir), redis_port,
# port and cp_pid; the replica runs with LEASE_TTL=120s and the environment given, its new store's
# recovery ended. Everything is removed when the script exits.
rollcall_load_control_plane() {
    work=$(mktemp -d /tmp/rollcall-load.XXXXXX)
    cp_pid=""
    trap rollcall_load_cleanup EXIT
    trap 'exit 130' INT
    local bin
    bin=$(rollcall_build_release)
    redis_port=$(rollcall_free_port)
    port=$(rollcall_free_port)
    rollcall_start_redis "$work/redis" "$redis_port"
    env REDIS_URL="redis://127.0.0.1:$redis_port" PORT="$port" HOST=127.0.0.1 LEASE_TTL=120s LOG_LEVEL=warning "$@" \
        "$bin/control-plane" >"$work/cp.log" 2>&1 &
    cp_pid=$!
    rollcall_wait_ready "http://127.0.0.1:$port"
    rollcall_end_recovery "$port" "$redis_port"  # LEASE_TTL is 120 s here
}

rollcall_load_cleanup() {
    set +e
    [ -n "$cp_pid" ] && kill -9 "$cp_pid" 2>/dev/null
    rollcall_stop_redis "$work/redis"
    rm -rf "$work"
}
