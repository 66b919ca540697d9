// Is there a cluster to watch, and which? The decision is a pure function of the config,
// the environment and which files exist, so tests can ask it without touching ~/.kube.
// Building the source imports @kubernetes/client-node lazily: the no-cluster path
// (laptops, `npm start`, CI) never loads it.
import { delimiter, join } from 'node:path';
import type pino from 'pino';
import type { Registry } from 'prom-client';
import type { ClusterStateSource } from '../view/source.ts';
import { NetguardError } from '../errors.ts';
import type { CustomPodSource, DnsSettings } from '../policies/types.ts';
import type { ServeConfig } from './config.ts';

export const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export type ClusterChoice =
  | { kind: 'none'; reason: string }
  | { kind: 'kubeconfig'; path: string; from: string }
  | { kind: 'in-cluster' };

export interface ClusterProbe {
  env: NodeJS.ProcessEnv;
  exists(path: string): boolean;
  /** '' when there is no home directory */
  homedir: string;
}

/**
 * Order: --kubeconfig / NETGUARD_KUBECONFIG (must exist), KUBECONFIG (first existing file of
 * the list), the in-cluster service account, ~/.kube/config, else no cluster.
 */
export function chooseCluster(config: Pick<ServeConfig, 'kubeconfig'>, probe: ClusterProbe): ClusterChoice {
  const notes: string[] = [];
  const given = config.kubeconfig;
  if (given && given.from !== 'KUBECONFIG') {
    if (!probe.exists(given.path)) throw new NetguardError('USAGE', `${given.from} ${given.path}: no such file`, { file: given.path });
    return { kind: 'kubeconfig', path: given.path, from: given.from };
  }
  if (given) {
    const first = given.path.split(delimiter).find((p) => p !== '' && probe.exists(p));
    if (first) return { kind: 'kubeconfig', path: first, from: 'KUBECONFIG' };
    notes.push(`KUBECONFIG=${given.path} names no existing file`);
  }
  if (probe.env.KUBERNETES_SERVICE_HOST && probe.exists(SERVICE_ACCOUNT_TOKEN)) return { kind: 'in-cluster' };
  if (probe.homedir !== '') {
    const home = join(probe.homedir, '.kube', 'config');
    if (probe.exists(home)) return { kind: 'kubeconfig', path: home, from: '~/.kube/config' };
  }
  notes.push('no kubeconfig', 'not in a cluster');
  return { kind: 'none', reason: notes.join(', ') };
}

export interface ClusterSourceOptions {
  logger: pino.Logger;
  registry: Registry;
  dns: DnsSettings;
  /** the policy's customPodSources at start: the custom kinds to watch */
  customPodSources?: readonly CustomPodSource[];
}

export type ClusterSourceFactory = (choice: Exclude<ClusterChoice, { kind: 'none' }>, opts: ClusterSourceOptions) => Promise<ClusterStateSource>;

/** A KubeConfig for the choice (the informers and self-managed certificates each load one). */
export async function loadKubeConfig(choice: Exclude<ClusterChoice, { kind: 'none' }>): Promise<import('@kubernetes/client-node').KubeConfig> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  if (choice.kind === 'in-cluster') kc.loadFromCluster();
  else kc.loadFromFile(choice.path);
  return kc;
}

/** The real factory: a KubeConfig from the choice, handed to the informer caches. */
export const informerSourceFactory: ClusterSourceFactory = async (choice, opts) => {
  const [kc, { createInformerSource }] = await Promise.all([loadKubeConfig(choice), import('../informer/index.ts')]);
  return createInformerSource(kc, opts);
};
