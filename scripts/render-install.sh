#!/usr/bin/env bash
# The install file a release attaches: `kubectl kustomize manifests/` with netguard's image
# pinned by digest, so what a cluster runs is exactly what the release built and signed.
#   scripts/render-install.sh ghcr.io/netguard/netguard@sha256:<64 hex> > netguard-install.yaml
# A tag in the reference is allowed and dropped (the digest decides). Needs kubectl (kustomize).
set -euo pipefail
usage() { echo "usage: $0 IMAGE@sha256:DIGEST > netguard-install.yaml" >&2; exit 2; }
[ $# -eq 1 ] || usage
[[ "$1" =~ ^([^@[:space:]]+)@(sha256:[0-9a-f]{64})$ ]] || usage
name="${BASH_REMATCH[1]}"
digest="${BASH_REMATCH[2]}"
# Drop a tag (a ':' after the last '/'; a ':' before it is a registry port).
last="${name##*/}"
[[ "$last" == *:* ]] && name="${name%:*}"

repo="$(cd "$(dirname "$0")/.." && pwd)"
# The image name as manifests/base/deployment.yaml writes it, without its tag.
current="$(sed -n 's/^ *image: *\([^ #]*\).*/\1/p' "$repo/manifests/base/deployment.yaml")"
[ "$(wc -l <<<"$current")" = 1 ] && [ -n "$current" ] || { echo "$0: expected one image: line in manifests/base/deployment.yaml" >&2; exit 1; }
current="${current%:*}"

overlay="$(mktemp -d)"
trap 'rm -rf "$overlay"' EXIT
# kustomize refuses absolute resource paths: point at manifests/ relative to the overlay.
base="$(realpath --relative-to="$overlay" "$repo/manifests")"
cat >"$overlay/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - $base
images:
  - name: $current
    newName: $name
    digest: $digest
YAML
rendered="$(kubectl kustomize "$overlay")"
grep -q "image: $name@$digest\$" <<<"$rendered" || { echo "$0: the rendered Deployment does not run $name@$digest" >&2; exit 1; }
version="$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$repo/package.json" | head -1)"
cat <<HEADER
# netguard $version: everything; netguard makes its TLS Secret and sets the webhook's caBundle
# itself (self-managed certificates). Certificates from files or cert-manager: see the README.
#   kubectl apply -f netguard-install.yaml
# Image: $name@$digest
HEADER
printf '%s\n' "$rendered"
