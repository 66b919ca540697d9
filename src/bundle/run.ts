// The `netguard check` pipeline, without the command line: load the inputs (files, stdin, kustomize
// builds), read the cluster state (a snapshot or a live read), evaluate the bundle against the
// policy, and say what happened. The CLI parses flags before it and prints after it; nothing here
// writes to a terminal. Every outcome that makes the check untrustworthy is its own kind, so the
// caller cannot mistake "nothing was checked" for "nothing was found".
import { isNetguardError, NetguardError } from '../errors.ts';
import type { Policy, Rule } from '../policies/types.ts';
import { checkBundle, type CheckResult } from './check-bundle.ts';
import { loadClusterState, survivingClusterState, type ClusterState } from './cluster-state.ts';
import { kustomizeBuild, kustomizeLabel } from './kustomize.ts';
import { addText, loadBundle, type LoadResult } from './load.ts';

export interface BundleInputs {
  /** -f: files, directories, or - for stdin */
  files: readonly string[];
  /** --exclude: globs of file paths not to read */
  exclude?: readonly string[];
  /** -k: kustomization directories, rendered by kubectl */
  kustomizeDirs: readonly string[];
  /** the namespace for objects that have none */
  namespace: string;
  /** --cluster-state snapshots (- for stdin) */
  clusterState: readonly string[];
  /** --kubeconfig: read the cluster state live instead */
  kubeconfig?: string;
  context?: string;
}

export interface RunDeps {
  /** standard input, read at most once */
  readStdin: () => string | Promise<string>;
  /** the environment kubectl runs with (kustomize builds) */
  env: Record<string, string | undefined>;
  rules?: readonly Rule<any>[];
}

export type RunOutcome =
  | { kind: 'input-problems'; loaded: LoadResult }
  | { kind: 'no-objects'; loaded: LoadResult; inputs: string[] }
  | { kind: 'cluster-state-error'; loaded: LoadResult; error: NetguardError }
  | { kind: 'checked'; loaded: LoadResult; state?: ClusterState; result: CheckResult };

export async function runBundleCheck(inputs: BundleInputs, policy: Policy, deps: RunDeps): Promise<RunOutcome> {
  const readStdin = await stdinOnce(inputs, deps);
  const loaded = loadInputs(inputs, readStdin, deps);
  // The bundle is the cluster: without every file, "nothing selects this" could be false.
  if (loaded.problems.length > 0) return { kind: 'input-problems', loaded };
  if (loaded.objects.length === 0) return { kind: 'no-objects', loaded, inputs: [...inputs.files, ...inputs.kustomizeDirs.map(kustomizeLabel)] };

  let state: ClusterState | undefined;
  try {
    state = await readClusterState(inputs, readStdin, policy);
  } catch (err) {
    if (!isNetguardError(err)) throw err;
    return { kind: 'cluster-state-error', loaded, error: err };
  }
  const bundle = loaded.objects.map((o) => o.object);
  const result = checkBundle(loaded.objects, policy, {
    defaultNamespace: inputs.namespace,
    ...(deps.rules ? { rules: deps.rules } : {}),
    ...(state ? { clusterState: survivingClusterState(state.objects, bundle, inputs.namespace) } : {}),
    ...(state?.completeKinds ? { completeKinds: state.completeKinds } : {}),
    ...(state?.podSourceGaps ? { podSourceGaps: state.podSourceGaps } : {}),
  });
  return { kind: 'checked', loaded, result, ...(state ? { state } : {}) };
}

/**
 * Standard input, read once and before anything else when a `-` asks for it, so the loaders stay
 * synchronous while the read itself is not (a blocking read of a pipe would keep SIGTERM from
 * being handled). A read error surfaces where the loader asks for it.
 */
async function stdinOnce(inputs: BundleInputs, deps: RunDeps): Promise<() => string> {
  if (!inputs.files.includes('-') && !inputs.clusterState.includes('-')) return () => '';
  try {
    const text = await deps.readStdin();
    return () => text;
  } catch (err) {
    return () => {
      throw err;
    };
  }
}

/** -f files and stdin, then each -k kustomization rendered by kubectl; problems collected, not thrown. */
function loadInputs(inputs: BundleInputs, readStdin: () => string, deps: RunDeps): LoadResult {
  const loaded = loadBundle(inputs.files, readStdin, { exclude: inputs.exclude ?? [] });
  for (const dir of inputs.kustomizeDirs) {
    try {
      addText(loaded, kustomizeBuild(dir, { env: { ...process.env, ...deps.env } }), kustomizeLabel(dir));
      loaded.files.push(kustomizeLabel(dir));
    } catch (err) {
      if (!isNetguardError(err)) throw err;
      loaded.problems.push(err);
    }
  }
  return loaded;
}

async function readClusterState(inputs: BundleInputs, readStdin: () => string, policy: Policy): Promise<ClusterState | undefined> {
  if (inputs.kubeconfig) {
    // Loaded only here: a plain `netguard check` never loads the Kubernetes client.
    const { readLiveState } = await import('./live-state.ts');
    return readLiveState({
      kubeconfig: inputs.kubeconfig,
      ...(inputs.context ? { context: inputs.context } : {}),
      ...(policy.customPodSources ? { customPodSources: policy.customPodSources } : {}),
    });
  }
  if (inputs.clusterState.length === 0) return undefined;
  const loaded = await loadClusterState(inputs.clusterState, readStdin);
  if (loaded.problems.length > 0) {
    const [first, ...rest] = loaded.problems;
    throw new NetguardError(first.code, `--cluster-state: ${[first, ...rest].map((p) => p.message).join('; ')}`, first.details);
  }
  return loaded.state;
}
