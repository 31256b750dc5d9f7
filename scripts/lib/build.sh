# The one build (sourced): the tests, scripts/run, the fault suite, the load scripts and the images all
# use the same binaries, so a clone compiles everything once (BoringSSL, twice over in the dependencies,
# is most of it). It is a release build with testable imports (the tests' @testable import) and the
# tests built beside the binaries: SwiftPM compiles a module differently when any of those flags
# changes, so every caller passes all of them. The binaries link the Swift runtime dynamically: a
# static runtime (--static-swift-stdlib) compiles every module again against another resource
# directory, which has no swift-testing. The images carry the runtime libraries in /usr/lib/swift/linux,
# on the binaries' RUNPATH (docs/operations.md, "Images").
ROLLCALL_BUILD_FLAGS=(-c release -Xswiftc -enable-testing -Xlinker -rpath=/usr/lib/swift/linux)

# rollcall_build: builds every product and the tests (quietly on success when ROLLCALL_BUILD_QUIET=1).
rollcall_build() {
    if [ "${ROLLCALL_BUILD_QUIET:-0}" = 1 ]; then
        local log
        log=$(mktemp)
        swift build "${ROLLCALL_BUILD_FLAGS[@]}" --build-tests >"$log" 2>&1 || { cat "$log" >&2; rm -f "$log"; return 1; }
        rm -f "$log"
    else
        swift build "${ROLLCALL_BUILD_FLAGS[@]}" --build-tests
    fi
}

# rollcall_bin_dir: the folder the binaries are in (absolute).
rollcall_bin_dir() {
    swift build "${ROLLCALL_BUILD_FLAGS[@]}" --show-bin-path
}

# rollcall_swift_test ARGS...: swift test on that build (pass --skip-build once it is built).
rollcall_swift_test() {
    swift test "${ROLLCALL_BUILD_FLAGS[@]}" "$@"
}
