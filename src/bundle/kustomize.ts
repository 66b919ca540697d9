// `netguard check -k DIR`: renders a kustomization with the real tool, `kubectl kustomize DIR`,
// so CI checks exactly what `kubectl apply -k DIR` would send. Spawned without a shell: DIR is
// an argument, never shell text. Any failure is a NetguardError (exit 2), never an empty bundle.
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { NetguardError } from '../errors.ts';

export interface KustomizeOptions {
  /** the kubectl to run; default "kubectl" from PATH */
  kubectl?: string;
  env?: NodeJS.ProcessEnv;
  /** remote bases can hang on the network; a CI job should fail, not stall. Default 5 minutes. */
  timeoutMs?: number;
}

/** The label objects from `-k DIR` carry as their file: `kustomize:DIR`, with lines of the rendered output. */
export function kustomizeLabel(dir: string): string {
  return `kustomize:${dir}`;
}

export function kustomizeBuild(dir: string, options: KustomizeOptions = {}): string {
  const kubectl = options.kubectl ?? 'kubectl';
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) {
    throw new NetguardError('KUSTOMIZE_FAILED', `-k ${dir}: not a directory; -k takes a folder with a kustomization.yaml`, { dir });
  }
  const r = spawnSync(kubectl, ['kustomize', dir], {
    encoding: 'utf8',
    env: options.env ?? process.env,
    maxBuffer: 512 * 1024 * 1024,
    timeout: options.timeoutMs ?? 300_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const err = r.error as NodeJS.ErrnoException | undefined;
  if (err?.code === 'ENOENT') {
    throw new NetguardError(
      'KUSTOMIZE_FAILED',
      `-k ${dir}: ${kubectl} not found on PATH; -k runs \`kubectl kustomize DIR\`: install kubectl, or render it yourself: kustomize build ${dir} | netguard check -f -`,
      { dir },
    );
  }
  if (err?.code === 'ETIMEDOUT' || r.signal === 'SIGTERM') {
    throw new NetguardError('KUSTOMIZE_FAILED', `-k ${dir}: \`${kubectl} kustomize ${dir}\` did not finish in ${Math.round((options.timeoutMs ?? 300_000) / 1000)}s (a remote base out of reach?)`, { dir });
  }
  if (err) throw new NetguardError('KUSTOMIZE_FAILED', `-k ${dir}: cannot run ${kubectl}: ${err.message}`, { dir }, { cause: err });
  if (r.status !== 0) {
    // kubectl's own words say what is wrong with the kustomization; pass them on whole.
    const stderr = r.stderr.trim() || '(no output on stderr)';
    throw new NetguardError('KUSTOMIZE_FAILED', `-k ${dir}: \`${kubectl} kustomize ${dir}\` failed (exit ${r.status ?? r.signal}):\n${stderr}`, { dir });
  }
  return r.stdout;
}
