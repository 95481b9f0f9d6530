# Multi-stage build: a static binary (no cgo) in a minimal image.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o /out/switchboard ./cmd/switchboard \
 && mkdir -p /out/state/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/switchboard /usr/local/bin/switchboard
COPY --from=build --chown=65532:65532 /out/state /var/lib/switchboard
WORKDIR /var/lib/switchboard
VOLUME ["/var/lib/switchboard"]
EXPOSE 5060/udp 5060/tcp 8080/tcp
ENV SWITCHBOARD_DB=/var/lib/switchboard/switchboard.db \
    SWITCHBOARD_DATA_DIR=/var/lib/switchboard/data \
    SWITCHBOARD_HTTP=0.0.0.0:8080
ENTRYPOINT ["/usr/local/bin/switchboard"]
CMD ["serve"]
