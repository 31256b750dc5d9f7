# syntax=docker/dockerfile:1
# Rollcall images, one Dockerfile with a target per executable:
#   docker build --target control-plane -t REGISTRY/rollcall-control-plane:TAG .
#   docker build --target worker        -t REGISTRY/rollcall-worker:TAG .
# Build and runtime are both Debian 12 (bookworm), so the hiredis and libpq the binaries link
# against at build time are the ones the runtime image installs.

FROM swift:6.3.1-bookworm AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
    && apt-get install -y --no-install-recommends libhiredis-dev libpq-dev librdkafka-dev pkg-config python3 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so source edits do not re-resolve them. Tests come along: they are built beside
# the binaries (below); Plugins holds the build plugin that embeds the lease scripts' Lua.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
COPY Plugins ./Plugins
COPY Tests ./Tests
COPY scripts/lib/build.sh scripts/lib/link_static.py ./scripts/lib/
# scripts/lib/build.sh's build, so these are the binaries scripts/test tested: a release build with
# testable imports, the executables linked once more with the Swift runtime and Foundation inside.
RUN . scripts/lib/build.sh \
    && rollcall_build \
    && bin="$(rollcall_bin_dir)" \
    && mkdir -p /out \
    && strip -o /out/control-plane "$bin/control-plane" \
    && strip -o /out/worker "$bin/worker"

# Slim runtime: the C libraries and CA certificates, a non-root user, nothing else.
FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends libhiredis0.14 libpq5 librdkafka1 ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 rollcall \
    && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin rollcall
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
