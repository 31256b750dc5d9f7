# A Redis Sentinel setup on loopback for tests and scripts/chaos: three redis-servers (node0 starts as the
# primary, node1 and node2 replicate it) and three Sentinels (master name "mymaster", quorum 2), each on a
# free port, with short timeouts. Source it after scripts/lib/servers.sh; it defines functions only.
#
# Layout of DIR: nodeK/{redis.pid,redis.log,port} and sentinelK/{sentinel.conf,sentinel.pid,port}.
# ROLLCALL_SENTINEL_DOWN_AFTER_MS (default 1000) and ROLLCALL_SENTINEL_FAILOVER_TIMEOUT_MS (default 3000)
# set how soon a silent primary is declared down and how long a failover attempt may take.
# ROLLCALL_REDIS_HA_PERSIST=1 gives every node an AOF (appendfsync everysec, as the chart's Redis), so a
# node restarted before the Sentinels gave up on it comes back with its data, not empty.

# rollcall_redis_ha_start DIR: starts all six and waits until the replicas are in sync and every
# Sentinel knows the two others (a failover needs the majority's votes) and both replicas.
rollcall_redis_ha_start() {
    local dir=$1 i
    mkdir -p "$dir"
    for i in 0 1 2; do
        mkdir -p "$dir/node$i" "$dir/sentinel$i"
        rollcall_free_port >"$dir/node$i/port"
        rollcall_free_port >"$dir/sentinel$i/port"
    done
    local primary
    primary=$(cat "$dir/node0/port")
    for i in 0 1 2; do rollcall_redis_ha_start_node "$dir" "$i" "$primary" || return 1; done
    for i in 0 1 2; do rollcall_redis_ha_start_sentinel "$dir" "$i" "$primary" || return 1; done
    local n
    for n in $(seq 1 300); do
        if [ "$(redis-cli -p "$primary" info replication | tr -d '\r' | grep -c '^slave[0-9]*:.*state=online')" = 2 ] \
            && [ "$(rollcall_redis_ha_known "$dir")" = "2/2 2/2 2/2" ]; then
            return 0
        fi
        sleep 0.1
    done
    echo "the Sentinel setup in $dir did not settle within 30 s" >&2
    return 1
}

# What each Sentinel knows, space-separated: other Sentinels/replicas. A Sentinel learns a replica from the
# primary's INFO (every 10 s); one it never saw is never promoted, so the setup is ready at "2/2 2/2 2/2".
rollcall_redis_ha_known() {
    local dir=$1 i out=()
    for i in 0 1 2; do
        out+=("$(redis-cli -p "$(cat "$dir/sentinel$i/port")" sentinel master mymaster 2>/dev/null | tr -d '\r' \
            | awk 'prev == "num-other-sentinels" { s = $0 } prev == "num-slaves" { r = $0 } { prev = $0 } END { print s "/" r }')")
    done
    echo "${out[*]}"
}

# rollcall_redis_ha_start_node DIR K [PRIMARY_PORT]: starts node K (again). It replicates PRIMARY_PORT,
# or whatever the Sentinels name the primary now (as the chart's init step does), unless it is that primary.
rollcall_redis_ha_start_node() {
    local dir=$1 index=$2 primary=${3:-} port
    port=$(cat "$dir/node$index/port")
    [ -n "$primary" ] || primary=$(rollcall_redis_ha_primary_port "$dir") || primary=""
    local replica=()
    [ -n "$primary" ] && [ "$primary" != "$port" ] && replica=(--replicaof 127.0.0.1 "$primary")
    local persistence=(--appendonly no)
    [ "${ROLLCALL_REDIS_HA_PERSIST:-}" = 1 ] && persistence=(--appendonly yes --appendfsync everysec)
    redis-server --port "$port" --bind 127.0.0.1 --dir "$dir/node$index" --save "" "${persistence[@]}" \
        --repl-ping-replica-period 1 --repl-diskless-sync-delay 0 --maxmemory-policy noeviction "${replica[@]}" \
        --daemonize yes --pidfile "$dir/node$index/redis.pid" --logfile "$dir/node$index/redis.log" >/dev/null
    rollcall_wait_redis "$port" "$dir/node$index/redis.log"
}

rollcall_redis_ha_start_sentinel() {
    local dir=$1 index=$2 primary=$3 port
    port=$(cat "$dir/sentinel$index/port")
    cat >"$dir/sentinel$index/sentinel.conf" <<CONF
port $port
bind 127.0.0.1
daemonize yes
pidfile $dir/sentinel$index/sentinel.pid
logfile $dir/sentinel$index/sentinel.log
dir $dir/sentinel$index
sentinel monitor mymaster 127.0.0.1 $primary 2
sentinel down-after-milliseconds mymaster ${ROLLCALL_SENTINEL_DOWN_AFTER_MS:-1000}
sentinel failover-timeout mymaster ${ROLLCALL_SENTINEL_FAILOVER_TIMEOUT_MS:-3000}
sentinel parallel-syncs mymaster 2
CONF
    redis-sentinel "$dir/sentinel$index/sentinel.conf" >/dev/null
    rollcall_wait_redis "$port" "$dir/sentinel$index/sentinel.log"
}

# The primary's port as the first Sentinel that answers names it.
rollcall_redis_ha_primary_port() {
    local dir=$1 i answer
    for i in 0 1 2; do
        answer=$(redis-cli -p "$(cat "$dir/sentinel$i/port" 2>/dev/null)" sentinel get-master-addr-by-name mymaster 2>/dev/null \
            | tr -d '\r' | sed -n 2p)
        [ -n "$answer" ] && { echo "$answer"; return 0; }
    done
    return 1
}

# The Sentinels as REDIS_SENTINELS wants them: 127.0.0.1:p0,127.0.0.1:p1,127.0.0.1:p2.
rollcall_redis_ha_sentinels() {
    local dir=$1
    echo "127.0.0.1:$(cat "$dir/sentinel0/port"),127.0.0.1:$(cat "$dir/sentinel1/port"),127.0.0.1:$(cat "$dir/sentinel2/port")"
}

# Kills everything started in DIR (SIGKILL, then waits); a SIGSTOPped process is continued first.
rollcall_redis_ha_stop() {
    local dir=$1 file pid
    for file in "$dir"/sentinel*/sentinel.pid "$dir"/node*/redis.pid; do
        [ -f "$file" ] || continue
        pid=$(cat "$file")
        kill -CONT "$pid" 2>/dev/null || true
        kill -9 "$pid" 2>/dev/null || true
        rm -f "$file"
    done
}
