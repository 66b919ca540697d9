# syntax=docker/dockerfile:1
# netguard's image: Node 24 runs the TypeScript in src/ directly (type stripping), so there is no
# build step, only production dependencies. Runs as UID 65532 on a read-only root filesystem.
#   docker build -t netguard .

# Production dependencies only. --omit=dev never installs the devDependencies: tap, typescript
# and the `node` package (a whole second Node binary, fetched by its install script).
# --ignore-scripts: no production dependency needs an install script (none is native).
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:24-bookworm-slim
# Nothing runs npm, npx, corepack or yarn at runtime; removing them removes their CVEs from scans.
RUN rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
      /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-*
WORKDIR /app
# A 16 MiB young generation: the paginated list burst at start-up otherwise grows it to
# ~130 MiB and RSS never gives it back (npm run bench:cache: 411 MB -> 335 MB at 100,000 pods).
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-semi-space-size=16 \
    NETGUARD_HOST=0.0.0.0 \
    NETGUARD_PORT=8443
# Owned by root and read-only to the app user: the process cannot modify its own code.
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY src ./src
COPY policies ./policies
# Numeric, so Kubernetes can verify runAsNonRoot without an /etc/passwd lookup.
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["node", "src/cli.ts"]
# The paths where manifests/base/deployment.yaml mounts the policy ConfigMap and the TLS Secret.
CMD ["serve", "--policy", "/etc/netguard/policy/policy.yaml", "--tls-cert", "/etc/netguard/tls/tls.crt", "--tls-key", "/etc/netguard/tls/tls.key"]
