# The one build (sourced): the tests, scripts/run, the fault suite, the load scripts and the images all
# use the same binaries, so a clone compiles everything once (BoringSSL, twice over in the dependencies,
# is most of it). It is a release build with testable imports (the tests' @testable import) and the
# tests built beside the binaries: SwiftPM compiles a module differently when any of those flags
# changes, so every caller passes all of them.
#
# The executables are then linked once more from the same objects with the Swift runtime and Foundation
# inside (scripts/lib/link_static.py, about 10 s each), into BIN/static/: those are the binaries every
# script runs and the images ship. Linked dynamically, a heartbeat cost the control plane 12-15 % more
# CPU (calls into the runtime through the PLT, its thread-locals through __tls_get_addr; measured with
# scripts/load-control-plane, docs/performance.md), and the images had to carry the runtime's 62 MB.
# SwiftPM's own --static-swift-stdlib would compile every module again against another resource
# directory, which has no swift-testing: the tests would not build with it.
ROLLCALL_BUILD_FLAGS=(-c release -Xswiftc -enable-testing -Xlinker -rpath=/usr/lib/swift/linux)

# rollcall_build: builds every product and the tests, then links the two executables statically
# (quietly on success when ROLLCALL_BUILD_QUIET=1).
rollcall_build() {
    if [ "${ROLLCALL_BUILD_QUIET:-0}" = 1 ]; then
        local log
        log=$(mktemp)
        swift build "${ROLLCALL_BUILD_FLAGS[@]}" --build-tests >"$log" 2>&1 || { cat "$log" >&2; rm -f "$log"; return 1; }
        rm -f "$log"
    else
        swift build "${ROLLCALL_BUILD_FLAGS[@]}" --build-tests
    fi
    python3 "$(dirname "${BASH_SOURCE[0]}")/link_static.py" "$(swift build "${ROLLCALL_BUILD_FLAGS[@]}" --show-bin-path)" control-plane worker
}

# rollcall_bin_dir: the folder the statically linked binaries are in (absolute).
rollcall_bin_dir() {
    echo "$(swift build "${ROLLCALL_BUILD_FLAGS[@]}" --show-bin-path)/static"
}

# rollcall_swift_test ARGS...: swift test on that build (pass --skip-build once it is built).
rollcall_swift_test() {
    swift test "${ROLLCALL_BUILD_FLAGS[@]}" "$@"
}
