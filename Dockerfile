# The release image of pi, built by GoReleaser (dockers_v2 in .goreleaser.yaml) from the
# static binaries it built: the build context holds linux/amd64/pi and linux/arm64/pi, and
# buildx sets TARGETPLATFORM to the platform being built. The distroless base has CA
# certificates and a non-root user, nothing else.
FROM gcr.io/distroless/static-debian12:nonroot
ARG TARGETPLATFORM
COPY ${TARGETPLATFORM}/pi /usr/local/bin/pi
# run records and the step cache go to a writable place inside the container
ENV XDG_STATE_HOME=/tmp/pi/state XDG_CACHE_HOME=/tmp/pi/cache
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/pi"]
