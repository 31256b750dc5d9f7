# Shared by scripts/test and scripts/run: install what is missing, start and stop a redis-server and a
# PostgreSQL cluster on loopback. Source it; it defines functions and sets nothing else.

# Installs Debian packages that are missing (as root; otherwise says what to install and fails).
rollcall_require_packages() {
    local missing=()
    local package
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing packages: ${missing[*]} (run as root, or: sudo apt-get install -y ${missing[*]})" >&2
        return 1
    fi
    echo "installing: ${missing[*]}" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# A free TCP port on 127.0.0.1, below the kernel's ephemeral range (Tests/python/rollcall_testing/ports.py).
rollcall_free_port() {
    PYTHONPATH="$(dirname "${BASH_SOURCE[0]}")/../../Tests/python" python3 -c 'from rollcall_testing.ports import free_port; print(free_port())'
}

# rollcall_wait_ready URL [SECONDS]: waits up to SECONDS (default 10) for URL/readyz to answer 2xx (a
# control plane or a worker).
rollcall_wait_ready() {
    local i seconds=${2:-10}
    for i in $(seq 1 $((seconds * 10))); do
        curl -fs ${ROLLCALL_CA_FILE:+--cacert "$ROLLCALL_CA_FILE"} "$1/readyz" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "$1 was not ready within $seconds s" >&2
    return 1
}

# rollcall_make_certificates DIR: a CA (DIR/ca.pem) and a server certificate it signs for 127.0.0.1 and
# localhost (DIR/server.pem, DIR/server.key), P-256, valid two days, made with openssl: for the scripts
# that run the servers over HTTPS (scripts/fuzz-api, scripts/chaos, the load scripts).
rollcall_make_certificates() {
    local dir=$1
    mkdir -p "$dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/ca.key" -out "$dir/ca.pem" \
        -days 2 -subj /CN=rollcall-local-ca 2>/dev/null &&
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/server.key" -out "$dir/server.csr" \
            -subj /CN=localhost 2>/dev/null &&
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$dir/server.ext" &&
        openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -set_serial 1 -days 2 \
            -extfile "$dir/server.ext" -out "$dir/server.pem" 2>/dev/null
}

# rollcall_end_recovery CONTROL_PLANE_PORT REDIS_PORT: for load scripts only. A new store waits one
# LEASE_TTL before its first number; one heartbeat makes the store begin that wait, and deleting the
# recovery key ends it by hand, as it would end by itself, so the figures measure renewals, not 503s.
rollcall_end_recovery() {
    curl -s -XPOST "http://127.0.0.1:$1/v1/workers/settle/heartbeat" -d '{"instance":"bench"}' >/dev/null
    redis-cli -p "$2" del rollcall:recovery >/dev/null
}

# The newest PostgreSQL server binaries directory.
rollcall_pg_bindir() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$dir" ] || { echo "no PostgreSQL server found under /usr/lib/postgresql" >&2; return 1; }
    echo "$dir"
}

# Runs a command as the postgres user when we are root (PostgreSQL refuses to run as root).
rollcall_as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# rollcall_start_redis DIR PORT: a redis-server with its files in DIR, no persistence unless
# ROLLCALL_REDIS_PERSIST=1 (then AOF in DIR). Writes DIR/redis.pid.
rollcall_start_redis() {
    local dir=$1 port=$2
    mkdir -p "$dir"
    local persist=(--save "" --appendonly no)
    [ "${ROLLCALL_REDIS_PERSIST:-0}" = 1 ] && persist=(--save "" --appendonly yes)
    redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" "${persist[@]}" \
        --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >/dev/null
    rollcall_wait_redis "$port" "$dir/redis.log"
}

# rollcall_wait_redis PORT LOG: waits up to 5 s for a redis-server or Sentinel on PORT to answer PING;
# shows LOG if it does not.
rollcall_wait_redis() {
    local port=$1 log=$2 i
    for i in $(seq 1 100); do
        redis-cli -p "$port" ping >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    echo "nothing answers on port $port; the log ($log):" >&2
    cat "$log" >&2
    return 1
}

rollcall_stop_redis() {
    local dir=$1
    [ -f "$dir/redis.pid" ] || return 0
    local pid
    pid=$(cat "$dir/redis.pid")
    kill "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$dir/redis.pid"
}

# rollcall_start_postgres DIR PORT PASSWORD DATABASE: a cluster in DIR/data (made on first use) with
# password auth over TCP on 127.0.0.1 and its socket in DIR; creates DATABASE if missing.
rollcall_start_postgres() {
    local dir=$1 port=$2 password=$3 database=$4
    local bin
    bin=$(rollcall_pg_bindir) || return 1
    mkdir -p "$dir"
    chmod 755 "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        local pwfile="$dir/.pwfile"
        printf '%s\n' "$password" >"$pwfile"
        [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$pwfile"
        rollcall_as_postgres "$bin/initdb" -D "$dir/data" -U postgres --pwfile="$pwfile" \
            --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-instructions >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; return 1; }
        rm -f "$pwfile"
    fi
    rollcall_as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" start >/dev/null \
        || { cat "$dir/postgres.log" >&2; return 1; }
    if ! rollcall_as_postgres psql -h "$dir" -p "$port" -U postgres -tAc "select 1 from pg_database where datname = '$database'" postgres | grep -q 1; then
        rollcall_as_postgres psql -h "$dir" -p "$port" -U postgres -qc "create database \"$database\"" postgres >/dev/null
    fi
}

rollcall_stop_postgres() {
    local dir=$1
    [ -f "$dir/data/postmaster.pid" ] || return 0
    local bin
    bin=$(rollcall_pg_bindir) || return 0
    rollcall_as_postgres "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 \
        || rollcall_as_postgres "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
}

# rollcall_start_postgres_standby DIR PORT PRIMARY_PORT PASSWORD: a streaming standby of the cluster on
# 127.0.0.1:PRIMARY_PORT (pg_basebackup -R as the postgres user, password auth), its files in DIR, on PORT.
rollcall_start_postgres_standby() {
    local dir=$1 port=$2 primary_port=$3 password=$4 bin
    bin=$(rollcall_pg_bindir) || return 1
    mkdir -p "$dir"
    chmod 755 "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
    rollcall_as_postgres env PGPASSWORD="$password" "$bin/pg_basebackup" -h 127.0.0.1 -p "$primary_port" -U postgres \
        -D "$dir/data" -R -X stream -c fast >"$dir/basebackup.log" 2>&1 || { cat "$dir/basebackup.log" >&2; return 1; }
    rollcall_as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" start >/dev/null \
        || { cat "$dir/postgres.log" >&2; return 1; }
}

# rollcall_postgres_synchronous DIR PORT on|off: whether the primary in DIR waits for a standby before a
# commit returns (synchronous_standby_names '*'), reloaded at once.
rollcall_postgres_synchronous() {
    local dir=$1 port=$2 names=""
    [ "$3" = on ] && names='*'
    rollcall_as_postgres psql -h "$dir" -p "$port" -U postgres -qc "ALTER SYSTEM SET synchronous_standby_names = '$names'" postgres >/dev/null &&
        rollcall_as_postgres psql -h "$dir" -p "$port" -U postgres -qc "SELECT pg_reload_conf()" postgres >/dev/null
}

# rollcall_postgres_require_ssl DIR PORT CERT KEY: the cluster in DIR serves TLS with CERT and KEY (PEM)
# and refuses connections over TCP without it (hostnossl ... reject), reloaded without a restart.
rollcall_postgres_require_ssl() {
    local dir=$1 port=$2 cert=$3 key=$4
    cp "$cert" "$dir/data/server.crt" && cp "$key" "$dir/data/server.key" || return 1
    chmod 600 "$dir/data/server.key"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir/data/server.crt" "$dir/data/server.key"
    { printf 'local all all trust\nhostnossl all all 0.0.0.0/0 reject\n'; printf 'hostssl all all 127.0.0.1/32 scram-sha-256\n'; } \
        >"$dir/data/pg_hba.conf"
    rollcall_as_postgres psql -h "$dir" -p "$port" -U postgres -qc "ALTER SYSTEM SET ssl = on" postgres >/dev/null &&
        rollcall_as_postgres psql -h "$dir" -p "$port" -U postgres -qc "SELECT pg_reload_conf()" postgres >/dev/null
}

# rollcall_promote_postgres DIR: promotes the standby in DIR, waiting until it accepts writes.
rollcall_promote_postgres() {
    local bin
    bin=$(rollcall_pg_bindir) || return 1
    rollcall_as_postgres "$bin/pg_ctl" -D "$1/data" -w -t 60 promote >/dev/null
}

# rollcall_postgres_stop_receiving DIR PORT: the standby in DIR stops streaming from its primary (an
# empty primary_conninfo, reloaded), as a standby that misses what the primary commits from then on.
rollcall_postgres_stop_receiving() {
    rollcall_as_postgres psql -h "$1" -p "$2" -U postgres -qc "ALTER SYSTEM SET primary_conninfo = ''" postgres >/dev/null &&
        rollcall_as_postgres psql -h "$1" -p "$2" -U postgres -qc "SELECT pg_reload_conf()" postgres >/dev/null
}
