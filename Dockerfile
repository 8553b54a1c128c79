# syntax=docker/dockerfile:1
# Plain multi-stage build of the same `fhirgate` binary the README runs.
# .dockerignore keeps target/ and ./data (the generated master key) out of the
# context. Downloaded crates and compiled dependencies persist between builds in
# BuildKit cache mounts, so a source change rebuilds only the workspace crates.
FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev libssl-dev pkg-config && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin fhirgate && cp target/release/fhirgate /usr/local/bin/fhirgate

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 libssl3 ca-certificates && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/fhirgate fhirgate && mkdir -p /var/lib/fhirgate && chown fhirgate /var/lib/fhirgate
COPY --from=build /usr/local/bin/fhirgate /usr/local/bin/fhirgate
USER fhirgate
# With a port mapping or a proxy in front, set FHIRGATE_BASE_URL (the Host rule,
# docs/security.md: a Host naming another port is refused).
# 0.0.0.0 is not loopback, so `serve` refuses plain HTTP and plain MLLP there
# (docs/security.md, "Network exposure"): give FHIRGATE_TLS_CERT/_KEY, or, when
# only a TLS-terminating proxy reaches the container, FHIRGATE_TLS_TERMINATED_UPSTREAM=true;
# for MLLP, FHIRGATE_MLLP_TLS_ADDR (and FHIRGATE_MLLP_DISABLED=true), or
# FHIRGATE_MLLP_ALLOW_PLAIN_NON_LOOPBACK=true on a private network.
ENV FHIRGATE_HTTP_ADDR=0.0.0.0:8080 FHIRGATE_MLLP_ADDR=0.0.0.0:2575 FHIRGATE_DATA_DIR=/var/lib/fhirgate
EXPOSE 8080 2575
ENTRYPOINT ["fhirgate"]
CMD ["serve"]
