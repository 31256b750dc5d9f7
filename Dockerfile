# syntax=docker/dockerfile:1
# Rollcall images, one Dockerfile with a target per executable:
#   docker build --target control-plane -t REGISTRY/rollcall-control-plane:TAG .
#   docker build --target worker        -t REGISTRY/rollcall-worker:TAG .
# Build and runtime are both Debian 12 (bookworm), so the hiredis and libpq the binaries link
# against at build time are the ones the runtime image installs.

FROM swift:6.3.1-bookworm AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
    && apt-get install -y --no-install-recommends libhiredis-dev libpq-dev librdkafka-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so source edits do not re-resolve them. Tests come along: they are built beside
# the binaries (below); Plugins holds the build plugin that embeds the lease scripts' Lua.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
COPY Plugins ./Plugins
COPY Tests ./Tests
# The flags of scripts/lib/build.sh, so these are the binaries scripts/test tested: a release build with
# testable imports, the Swift runtime linked dynamically and found in /usr/lib/swift/linux (RUNPATH).
# The runtime libraries the binaries link are copied from the toolchain beside them.
RUN swift build -c release -Xswiftc -enable-testing -Xlinker -rpath=/usr/lib/swift/linux --build-tests \
    && bin="$(swift build -c release -Xswiftc -enable-testing -Xlinker -rpath=/usr/lib/swift/linux --show-bin-path)" \
    && mkdir -p /out/swift \
    && strip -o /out/control-plane "$bin/control-plane" \
    && strip -o /out/worker "$bin/worker" \
    && ldd /out/control-plane /out/worker | awk 'index($3, "/usr/lib/swift/linux/") == 1 {print $3}' | sort -u \
        | while read -r library; do strip --strip-unneeded -o "/out/swift/$(basename "$library")" "$library"; done

# Slim runtime: the C libraries, the Swift runtime and CA certificates, a non-root user, nothing else.
FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends libhiredis0.14 libpq5 librdkafka1 ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 rollcall \
    && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin rollcall
COPY --from=build /out/swift/ /usr/lib/swift/linux/
USER 10001:10001
WORKDIR /

FROM runtime AS worker
COPY --from=build /out/worker /usr/local/bin/worker
EXPOSE 8081
ENTRYPOINT ["/usr/local/bin/worker"]

FROM runtime AS control-plane
COPY --from=build /out/control-plane /usr/local/bin/control-plane
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/control-plane"]
