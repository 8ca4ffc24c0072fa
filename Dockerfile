# syntax=docker/dockerfile:1
# kaspersky-msp-bridge: a release build, then a slim runtime that runs as a non-root user.
#   docker build --build-arg BRIDGE_GIT_COMMIT="$(git rev-parse --short HEAD)" -t kaspersky-msp-bridge .
# compose.yaml runs it with PostgreSQL 16; README "Deploy" says how.
ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=trixie

FROM rust:${RUST_VERSION}-slim-${DEBIAN_RELEASE} AS build
# The image links the system's libpq (found by pkg-config), which speaks TLS to PostgreSQL, rather
# than the bundled one of the default build (`--no-default-features`); SQLite is compiled in;
# make for jemalloc's build (the slim image has gcc but not make).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq-dev make pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY benches benches
COPY console/src console/src
COPY migrations migrations
COPY src src
# .git is not sent to the build (.dockerignore): the commit --version names comes in here.
ARG BRIDGE_GIT_COMMIT=unknown
ENV BRIDGE_GIT_COMMIT=${BRIDGE_GIT_COMMIT}
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --no-default-features --bin kaspersky-msp-bridge \
    && install -m 0755 target/release/kaspersky-msp-bridge /usr/local/bin/kaspersky-msp-bridge

FROM debian:${DEBIAN_RELEASE}-slim
# What the binary links beyond libc (ldd: libpq) and the CA roots that HTTPS to ConnectWise and
# KSC is verified against. No shell tools are needed: the health check is the binary itself.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --no-create-home \
        --home-dir /var/lib/kaspersky-msp-bridge --shell /usr/sbin/nologin bridge \
    && install -d -m 0700 -o bridge -g bridge /var/lib/kaspersky-msp-bridge
COPY --from=build /usr/local/bin/kaspersky-msp-bridge /usr/local/bin/kaspersky-msp-bridge
# Listen on every interface of the container; keep the data (SQLite database, key file,
# initial admin password) on the volume.
ENV BRIDGE_BIND=0.0.0.0:8080 \
    BRIDGE_DATA_DIR=/var/lib/kaspersky-msp-bridge
WORKDIR /var/lib/kaspersky-msp-bridge
VOLUME ["/var/lib/kaspersky-msp-bridge"]
EXPOSE 8080
# Numeric, so Kubernetes' runAsNonRoot can check it.
USER 10001:10001
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["kaspersky-msp-bridge", "healthcheck"]
ENTRYPOINT ["kaspersky-msp-bridge"]
CMD ["serve"]
