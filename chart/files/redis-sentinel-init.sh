#!/bin/sh
# Writes redis.conf and sentinel.conf for one pod of the chart's Sentinel StatefulSet (redis.mode:
# sentinel), before its redis-server and redis-sentinel start. The primary is whatever a running
# Sentinel names; when none answers (a fresh install, or every pod restarted at once) pod 0 is.
# A pod the Sentinels still name as primary (it restarted faster than down-after) starts as one
# and keeps its data (AOF); every other pod starts as a replica of the named primary.
#
# Environment (the chart sets it; Tests/python/test_chart.py runs this script on loopback with its own):
#   POD_NAME          this pod, <statefulset>-<ordinal>
#   PEERS             every pod's host name, space-separated, in ordinal order
#   REDIS_PASSWORD_FILE  a file holding the password of the nodes and of the Sentinels (the chart
#                     mounts the Secret there; REDIS_PASSWORD itself is used when no file is named)
#   MASTER_NAME QUORUM DOWN_AFTER_MS FAILOVER_TIMEOUT_MS
#   REDIS_PORT SENTINEL_PORT (6379, 26379)  BIND (all interfaces)  DATA_DIR (/data)  CONFIG_DIR (/config)
set -eu

ordinal=${POD_NAME##*-}
REDIS_PORT=${REDIS_PORT:-6379}
SENTINEL_PORT=${SENTINEL_PORT:-26379}
BIND=${BIND:-* -::*}
DATA_DIR=${DATA_DIR:-/data}
CONFIG_DIR=${CONFIG_DIR:-/config}
if [ -n "${REDIS_PASSWORD_FILE:-}" ]; then
    REDIS_PASSWORD=$(cat "$REDIS_PASSWORD_FILE")
fi

me=""
first=""
i=0
for peer in $PEERS; do
    [ -n "$first" ] || first=$peer
    [ "$i" = "$ordinal" ] && me=$peer
    i=$((i + 1))
done
if [ -z "$me" ]; then
    echo "redis-sentinel-init: $POD_NAME (ordinal $ordinal) is not among PEERS: $PEERS" >&2
    exit 1
fi

# Our own Sentinel is not running yet: ask the others. During a failover they may disagree for a moment;
# the answer under the highest configuration epoch is the newest.
sentinel() {
    host=$1
    shift
    REDISCLI_AUTH="$REDIS_PASSWORD" timeout 3 redis-cli --no-auth-warning -h "$host" -p "$SENTINEL_PORT" --raw sentinel "$@" 2>/dev/null
}
primary=""
best_epoch=-1
for peer in $PEERS; do
    [ "$peer" = "$me" ] && continue
    address=$(sentinel "$peer" get-master-addr-by-name "$MASTER_NAME" | head -n 1) || address=""
    epoch=$(sentinel "$peer" master "$MASTER_NAME" | awk 'prev == "config-epoch" { print } { prev = $0 }') || epoch=""
    case "$address" in "" | *" "* | ERR* | NOAUTH* | WRONGPASS*) continue ;; esac
    case "$epoch" in "" | *[!0-9]*) continue ;; esac
    echo "redis-sentinel-init: the Sentinel on $peer names $address the primary (configuration epoch $epoch)"
    if [ "$epoch" -gt "$best_epoch" ]; then
        best_epoch=$epoch
        primary=$address
    fi
done
if [ -z "$primary" ]; then
    primary=$first
    echo "redis-sentinel-init: no Sentinel answered; $primary starts as the primary"
fi

umask 077
{
    echo "port $REDIS_PORT"
    echo "bind $BIND"
    echo "dir $DATA_DIR"
    echo "appendonly yes"
    echo "appendfsync everysec"
    # An evicted lease key would look like a free number.
    echo "maxmemory-policy noeviction"
    echo "requirepass $REDIS_PASSWORD"
    echo "masterauth $REDIS_PASSWORD"
    # Pod IPs change on restart; the Sentinels and the replicas know each node by its stable name.
    echo "replica-announce-ip $me"
    echo "repl-diskless-sync-delay 0"
    echo "repl-ping-replica-period 1"
    if [ "$primary" != "$me" ]; then
        echo "replicaof $primary $REDIS_PORT"
    fi
} >"$CONFIG_DIR/redis.conf"

{
    echo "port $SENTINEL_PORT"
    echo "bind $BIND"
    echo "dir $CONFIG_DIR"
    echo "sentinel resolve-hostnames yes"
    echo "sentinel announce-hostnames yes"
    echo "sentinel announce-ip $me"
    echo "requirepass $REDIS_PASSWORD"
    echo "sentinel sentinel-pass $REDIS_PASSWORD"
    echo "sentinel monitor $MASTER_NAME $primary $REDIS_PORT $QUORUM"
    echo "sentinel auth-pass $MASTER_NAME $REDIS_PASSWORD"
    echo "sentinel down-after-milliseconds $MASTER_NAME $DOWN_AFTER_MS"
    echo "sentinel failover-timeout $MASTER_NAME $FAILOVER_TIMEOUT_MS"
    # Every other replica is reconfigured at once when one is promoted: until a replica leaves the old
    # primary, that primary can still acknowledge writes (WAIT) the promoted one never sees.
    echo "sentinel parallel-syncs $MASTER_NAME $((i - 1))"
} >"$CONFIG_DIR/sentinel.conf"
echo "redis-sentinel-init: $me starts as $([ "$primary" = "$me" ] && echo primary || echo "replica of $primary")"
