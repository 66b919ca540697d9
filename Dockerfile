# syntax=docker/dockerfile:1
# netguard's image: the JavaScript that `npm run build` compiles from src/ (dist/), run by plain
# node on distroless Node 24: no shell, no package manager, no npm, UID 65532, production
# dependencies only. Works on a read-only root filesystem.
#   docker build -t netguard .
# Multi-arch (what the release workflow does):
#   docker buildx build --platform linux/amd64,linux/arm64 -t REGISTRY/netguard:TAG .

# Base images, pinned by digest. The digest is the image INDEX (multi-arch) digest of the tag.
# These defaults were copied from public Dockerfiles pinning the same tags; they were NOT
# resolved from this repository (no registry access where it was written). Verify and refresh
# them at every release, and whenever a base image CVE is fixed:
#   crane digest gcr.io/distroless/nodejs24-debian12:nonroot
#   docker buildx imagetools inspect node:24-bookworm-slim --format '{{json .Manifest.Digest}}'
# The release workflow (.github/workflows/release.yml) resolves both digests itself and passes
# them as --build-arg, so a release never builds on a stale pin.
# Both are Node 24, the major the tests run on (the `node` devDependency); a test compares them.
ARG BUILD_IMAGE=node:24-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot@sha256:14d42e2511532589a7c7e01a753667a74fcc96266e137e8125006b87b0c32d0a

# Build: compile src/ to dist/, then drop the dev dependencies. It runs on the builder's own
# platform: dist/ is JavaScript and no production dependency is native, so the result is the same
# for every target architecture and a multi-arch build needs no emulation here.
# --ignore-scripts: nothing needs an install script; it also keeps the `node` devDependency from
# downloading a second Node binary (the base image's Node 24 runs the build).
FROM --platform=$BUILDPLATFORM ${BUILD_IMAGE} AS build
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${RUNTIME_IMAGE}
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="netguard" \
      org.opencontainers.image.description="Kubernetes validating admission webhook that catches networking mistakes" \
      org.opencontainers.image.source="https://github.com/netguard/netguard" \
      org.opencontainers.image.url="https://github.com/netguard/netguard" \
      org.opencontainers.image.documentation="https://github.com/netguard/netguard#readme" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.vendor="netguard" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
WORKDIR /app
# Memory, measured by npm run bench:cache (whole-process RSS at 100,000 cached pods), which
# reads these lines and runs netguard with them:
# - an 8 MiB semi-space: the paginated list burst at start-up otherwise grows V8's young
#   generation to ~130 MiB, and RSS never gives it back;
# - one malloc arena, and blocks of 32 KiB or more from mmap: the list pages' buffers are
#   then returned to the system when freed instead of staying in per-thread arenas (distroless
#   debian12 is glibc, so these MALLOC_* tunables apply).
# Together: ~430 MB -> ~250 MB, for about 5% more CPU per admission request.
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-semi-space-size=8 \
    MALLOC_ARENA_MAX=1 \
    MALLOC_MMAP_THRESHOLD_=32768 \
    MALLOC_TRIM_THRESHOLD_=65536 \
    NETGUARD_HOST=0.0.0.0 \
    NETGUARD_PORT=8443
# Owned by root and read-only to the app user: the process cannot modify its own code.
# package.json: "type": "module" and the version `netguard --version` prints.
COPY package.json ./
COPY --from=build /build/node_modules ./node_modules
COPY --from=build /build/dist ./dist
COPY policies ./policies
# `netguard rules <id>` prints these pages.
COPY docs ./docs
# Numeric, so Kubernetes can verify runAsNonRoot without an /etc/passwd lookup (the :nonroot
# base already runs as 65532; said again here so the image does not depend on the tag).
USER 65532:65532
# 8443: the webhook (HTTPS); 9090: /metrics (plain HTTP, --metrics-port).
EXPOSE 8443 9090
# distroless keeps node at /nodejs/bin/node, and there is no shell to find it on a PATH.
ENTRYPOINT ["/nodejs/bin/node", "dist/cli.js"]
# What manifests/base/deployment.yaml passes: the policy from its ConfigMap mount, certificates
# self-managed in the Secret netguard-tls (needs POD_NAMESPACE). manifests/files mounts the Secret
# instead and passes --cert-mode files --tls-cert /etc/netguard/tls/tls.crt --tls-key /etc/netguard/tls/tls.key.
CMD ["serve", "--policy", "/etc/netguard/policy/policy.yaml", "--cert-mode", "self-managed", "--cert-secret", "netguard-tls", "--webhook-config", "netguard"]
