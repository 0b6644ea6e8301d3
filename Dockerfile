# The `resident` binary in a small image: built with the locked dependencies, run as a non-root user
# on a read-only root file system (everything it writes goes under /data, a volume). See
# docs/operations.md ("Containers") and deploy/compose.yaml for two replicas, a worker and PostgreSQL.
#
#   docker build -t resident-services .
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin resident \
 && install -D -m 0755 target/release/resident /out/resident

# glibc and libgcc only (ldd): no shell, no package manager; TLS roots and time zones are compiled in
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/resident /usr/local/bin/resident
USER 65532:65532
ENV RESIDENT_DATA_DIR=/data \
    RESIDENT_LISTEN=0.0.0.0:8099 \
    RESIDENT_LOG__FORMAT=json
VOLUME ["/data"]
EXPOSE 8099
# probes: GET /resident/v1/actuator/health (503 while draining on SIGTERM, then the process exits)
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/resident"]
CMD ["serve"]
