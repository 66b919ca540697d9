// The runtime settings the container image gives `netguard serve` (the Dockerfile's ENV:
// NODE_OPTIONS and glibc's MALLOC_* tunables), read from the Dockerfile itself so that a
// benchmark measuring "the process as shipped" cannot drift from what ships.
import { readFileSync } from 'node:fs';

export interface ImageRuntime {
  /** node flags from NODE_OPTIONS, e.g. ['--max-semi-space-size=8'] */
  nodeFlags: string[];
  /** the MALLOC_* variables */
  env: Record<string, string>;
  /** "--max-semi-space-size=8 MALLOC_ARENA_MAX=1 ...", for tables */
  label: string;
}

const DOCKERFILE = new URL('../../Dockerfile', import.meta.url);

/** The ENV of the Dockerfile's last stage, as KEY → value (ENV k=v k2=v2, with \ continuations). */
export function finalStageEnv(dockerfile: string): Record<string, string> {
  const joined = dockerfile.replace(/\\\r?\n/g, ' ');
  const env: Record<string, string> = {};
  for (const line of joined.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (/^FROM\s/i.test(trimmed)) for (const k of Object.keys(env)) delete env[k];
    const m = /^ENV\s+(.*)$/i.exec(trimmed);
    if (!m) continue;
    for (const pair of m[1].matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("([^"]*)"|\S*)/g)) env[pair[1]] = pair[3] ?? pair[2];
  }
  return env;
}

export function imageRuntime(dockerfile = readFileSync(DOCKERFILE, 'utf8')): ImageRuntime {
  const env = finalStageEnv(dockerfile);
  const nodeFlags = (env.NODE_OPTIONS ?? '').split(/\s+/).filter(Boolean);
  const malloc = Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('MALLOC_')));
  return { nodeFlags, env: malloc, label: [...nodeFlags, ...Object.entries(malloc).map(([k, v]) => `${k}=${v}`)].join(' ') };
}
