// Copies policies/default.yaml into manifests/base/configmap.yaml (data.policy.yaml), keeping the
// ConfigMap's header. Run it after editing the default policy:  node test/deploy/sync-policy.ts
// (kustomize cannot read ../policies itself; manifests.test.ts fails while the two differ).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const CONFIGMAP = join(REPO, 'manifests/base/configmap.yaml');
const MARKER = '  policy.yaml: |\n';

export function syncedConfigMap(configMap: string, policy: string): string {
  const at = configMap.indexOf(MARKER);
  if (at < 0) throw new Error(`${CONFIGMAP}: no "${MARKER.trim()}" line`);
  const body = policy.trimEnd().split('\n').map((l) => (l === '' ? '' : `    ${l}`)).join('\n');
  return configMap.slice(0, at + MARKER.length) + body + '\n';
}

if (import.meta.main) {
  const next = syncedConfigMap(readFileSync(CONFIGMAP, 'utf8'), readFileSync(join(REPO, 'policies/default.yaml'), 'utf8'));
  writeFileSync(CONFIGMAP, next);
  process.stdout.write(`updated ${CONFIGMAP}\n`);
}
