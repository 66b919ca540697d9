#!/usr/bin/env bash
# The published package, tried as a user gets it: `npm pack` (which builds dist/), installed into
# an empty prefix with production dependencies only, then `netguard check` and `netguard serve`
# run by a plain Node >= 22 with type stripping switched off, so only dist/ can be what runs.
# That Node is the one in node_modules/node (Node 24): this machine's own Node is too old, and it
# stands in for the system Node a user has. Run by `npm run test:package` and by .ci/run.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"

system_node="$repo/node_modules/node/bin/node"
[ -x "$system_node" ] || { echo "smoke-package: $system_node missing (run npm ci)" >&2; exit 1; }

tmp="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then kill -KILL "$server_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "smoke-package: FAIL: $*" >&2; exit 1; }
step() { echo "smoke-package: $*"; }

# 1. The tarball: prepack runs `npm run build`, so dist/ is compiled from the current src/.
step "npm pack"
tarball="$(npm pack --silent --pack-destination "$tmp")"
tarball="$tmp/$(basename "$tarball")"
listing="$(tar -tzf "$tarball" | sed 's|^package/||' | sort)"
for f in bin/netguard.js dist/cli.js policies/default.yaml policies/policy.schema.json package.json README.md \
  examples/admission-reviews/nodeport-in-production.json; do
  grep -qx "$f" <<<"$listing" || fail "$f is not in the package"
done
if grep -E '^(src|test|bench|soak|scripts|manifests|certs|\.ci|\.github)/|\.ts$|^tsconfig' <<<"$listing" >&2; then
  fail "the package carries development files (listed above)"
fi
step "$(wc -l <<<"$listing") files in $(basename "$tarball") ($(du -k "$tarball" | cut -f1) KiB)"

# 2. Installed the way a user installs it, into an empty prefix, no dev dependencies.
step "npm install --omit=dev into an empty prefix"
mkdir "$tmp/prefix"
npm install --prefix "$tmp/prefix" --omit=dev --no-audit --no-fund --loglevel=error "$tarball" >/dev/null
pkg="$tmp/prefix/node_modules/netguard"
[ -d "$pkg/dist" ] || fail "dist/ missing from the installed package"
[ ! -e "$pkg/src" ] || fail "src/ was installed"
for dev in node typescript tap; do
  [ ! -e "$tmp/prefix/node_modules/$dev" ] || fail "devDependency $dev was installed"
done

# "The system Node": a PATH whose only node is Node 24, and NODE_OPTIONS that switch type
# stripping off (a .ts file anywhere on the path would fail to load). The bin's shebang is
# `#!/usr/bin/env node`, so it picks this node up exactly as it would a user's.
mkdir "$tmp/system-node"
ln -s "$system_node" "$tmp/system-node/node"
run_env=(env -u KUBECONFIG -u NETGUARD_KUBECONFIG -u NETGUARD_DEBUG HOME="$tmp/home"
  PATH="$tmp/system-node:/usr/bin:/bin" NODE_OPTIONS=--no-experimental-strip-types)
netguard="$tmp/prefix/node_modules/.bin/netguard"
[ -x "$netguard" ] || fail "no netguard on the prefix's .bin"
mkdir "$tmp/home"

version="$("${run_env[@]}" "$netguard" --version)"
expected_version="$("$system_node" -p 'require("./package.json").version')"
[ "$version" = "$expected_version" ] || fail "netguard --version said '$version', package.json says $expected_version"
step "netguard --version: $version (Node $("${run_env[@]}" node --version), type stripping off)"

# 3. check: README documents exit code 1 for examples/ (deny findings).
set +e
"${run_env[@]}" "$netguard" check -f "$repo/examples/" --output json >"$tmp/check.json" 2>"$tmp/check.err"
code=$?
set -e
[ "$code" = 1 ] || { cat "$tmp/check.err" >&2; fail "netguard check -f examples/ exited $code, expected 1"; }
for rule in nodeport-namespace-allowed ingress-class-exists egress-allows-dns service-selector-has-match; do
  grep -q "\"$rule\"" "$tmp/check.json" || fail "check found no $rule finding in examples/"
done
step "netguard check -f examples/: exit 1 with the expected findings"

# 4. serve: a development certificate in the tmp dir, any free port, no cluster; /healthz answers,
# then SIGTERM stops it cleanly.
"${run_env[@]}" NETGUARD_CERT_DIR="$tmp/certs" NETGUARD_SHUTDOWN_DELAY_SECONDS=0 \
  "$netguard" serve --port 0 --log-level info >"$tmp/serve.log" 2>&1 &
server_pid=$!
port=""
for _ in $(seq 1 100); do # 100 x 0.1 s: start-up includes generating the certificate
  port="$(grep -o '"port":[0-9]*' "$tmp/serve.log" | head -1 | cut -d: -f2 || true)"
  [ -n "$port" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/serve.log" >&2; fail "netguard serve exited during start-up"; }
  sleep 0.1
done
[ -n "$port" ] || { cat "$tmp/serve.log" >&2; fail "netguard serve did not log its port within 10 s"; }
health="$(curl --silent --show-error --fail --max-time 5 --retry 20 --retry-delay 0 --retry-connrefused \
  --cacert "$tmp/certs/ca.crt" "https://127.0.0.1:$port/healthz")" || { cat "$tmp/serve.log" >&2; fail "/healthz did not answer"; }
[ "$health" = '{"status":"ok"}' ] || fail "/healthz answered $health"
step "netguard serve on port $port: /healthz $health"
kill -TERM "$server_pid"
set +e
wait "$server_pid"
code=$?
set -e
server_pid=""
[ "$code" = 0 ] || { cat "$tmp/serve.log" >&2; fail "netguard serve exited $code after SIGTERM, expected 0"; }
if grep -q '"level":[56]0' "$tmp/serve.log"; then cat "$tmp/serve.log" >&2; fail "serve logged errors"; fi
step "SIGTERM: exit 0. OK"
