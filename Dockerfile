# Plain multi-stage build of the same `fhirgate` binary the README runs.
FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev libssl-dev pkg-config && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin fhirgate

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 libssl3 ca-certificates && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/fhirgate fhirgate && mkdir -p /var/lib/fhirgate && chown fhirgate /var/lib/fhirgate
COPY --from=build /src/target/release/fhirgate /usr/local/bin/fhirgate
USER fhirgate
ENV FHIRGATE_HTTP_ADDR=0.0.0.0:8080 FHIRGATE_MLLP_ADDR=0.0.0.0:2575 FHIRGATE_DATA_DIR=/var/lib/fhirgate
EXPOSE 8080 2575
ENTRYPOINT ["fhirgate"]
CMD ["serve"]
