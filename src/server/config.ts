// `netguard serve` settings: flags first, then NETGUARD_* environment variables, then
// defaults. Pure (argv and env in, config out) so every precedence rule is unit-testable.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCommandArgs } from '../args.ts';
import { NetguardError } from '../errors.ts';
import { DEFAULT_POLICY_FILE } from '../policies/policy-file.ts';
import { CERT_OPTIONS, parseCertificateConfig, type CertMode, type SelfManagedConfig } from './cert-config.ts';

/** The repository root: `certs/` for the development certificate lives here. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DEFAULT_CERT_DIR = join(REPO_ROOT, 'certs');

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ServeConfig {
  policyFile: string;
  host: string;
  port: number;
  /** where the serving certificate comes from (cert-config.ts) */
  certMode: CertMode;
  /** plain-HTTP port for GET /metrics; 0: no separate listener (then /metrics is on the HTTPS port) */
  metricsPort: number;
  /** certMode files: both; otherwise neither */
  tlsCert?: string;
  tlsKey?: string;
  /** certMode self-managed: the Secret, the webhook configuration, lifetimes */
  selfManaged?: SelfManagedConfig;
  /** CA bundle (PEM) that signs the apiserver's client certificate; set: every request but the probes and /metrics needs one */
  clientCa?: string;
  /** an explicit kubeconfig (flag, NETGUARD_KUBECONFIG or KUBECONFIG); cluster.ts decides the rest */
  kubeconfig?: { path: string; from: '--kubeconfig' | 'NETGUARD_KUBECONFIG' | 'KUBECONFIG' };
  logLevel: LogLevel;
  certDir: string;
  shutdownDelayMs: number;
  help: boolean;
}

export const SERVE_USAGE = `Usage: netguard serve [options]

Options (each also read from the environment variable shown; flags win):
  --policy FILE       policy file                    NETGUARD_POLICY    (default: bundled policies/default.yaml)
  --host H            address to listen on           NETGUARD_HOST      (default: 127.0.0.1)
  --port N            port to listen on (0: any)     NETGUARD_PORT      (default: 8443)
  --metrics-port N    plain-HTTP port for /metrics   NETGUARD_METRICS_PORT (default: 9090)
                      (0: none; /metrics is then served on the HTTPS port)
  --cert-mode MODE    self-managed, files or dev     NETGUARD_CERT_MODE (default: files with --tls-cert, else dev)
                      self-managed: netguard keeps its CA and certificate in a Secret, renews
                      them and sets the webhook's caBundle (needs the cluster API)
  --tls-cert FILE     serving certificate (PEM)      NETGUARD_TLS_CERT  (files mode)
  --tls-key FILE      its private key (PEM)          NETGUARD_TLS_KEY
  --client-ca FILE    require a client certificate   NETGUARD_CLIENT_CA (default: none)
                      signed by this CA (the apiserver's); others get 401.
                      GET /healthz and /readyz (and /metrics) stay open.
  --kubeconfig FILE   cluster to watch               NETGUARD_KUBECONFIG, then KUBECONFIG
                      (default: in-cluster service account, then ~/.kube/config, else no cluster)
  --log-level L       fatal|error|warn|info|debug|trace|silent   NETGUARD_LOG_LEVEL (default: info)
  -h, --help          show this help

Self-managed certificates (--cert-mode self-managed):
  --namespace NS        namespace of the Service and Secret   NETGUARD_NAMESPACE, then POD_NAMESPACE
  --service NAME        Service the certificate names         NETGUARD_SERVICE        (default: netguard)
  --cert-secret NAME    Secret holding CA and certificate     NETGUARD_CERT_SECRET    (default: netguard-tls)
  --webhook-config NAME ValidatingWebhookConfiguration        NETGUARD_WEBHOOK_CONFIG (default: netguard)
                        whose caBundle netguard sets
  --cert-validity DUR   serving certificate lifetime          NETGUARD_CERT_VALIDITY  (default: 8760h)
  --ca-validity DUR     CA lifetime                           NETGUARD_CA_VALIDITY    (default: 87600h)
                        (each renewed two thirds into its lifetime)

Environment only:
  POD_NAME                           this replica's name in the Secret (default: the host name)
  NETGUARD_CLUSTER_DOMAIN            DNS suffix of Service names (default: cluster.local)
  NETGUARD_CERT_DIR                  where the development certificate is kept (default: <repo>/certs)
  NETGUARD_SHUTDOWN_DELAY_SECONDS    drain period after SIGTERM before closing (default: 5)
`;

const OPTIONS = {
  policy: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  'metrics-port': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'client-ca': { type: 'string' },
  kubeconfig: { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  ...CERT_OPTIONS,
} as const;

function usage(message: string): NetguardError {
  return new NetguardError('USAGE', message);
}

/** An empty string counts as unset: `NETGUARD_PORT= netguard serve` should mean the default. */
function pick(flag: string | undefined, env: string | undefined): string | undefined {
  if (flag !== undefined) return flag;
  return env !== undefined && env !== '' ? env : undefined;
}

export function parseServeConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ServeConfig {
  const { values, positionals } = parseCommandArgs(argv, OPTIONS);
  if (positionals.length > 0) throw usage(`unexpected argument ${positionals[0]}`);

  const port = portNumber('--port', pick(values.port, env.NETGUARD_PORT) ?? '8443');
  const metricsPort = portNumber('--metrics-port', pick(values['metrics-port'], env.NETGUARD_METRICS_PORT) ?? '9090');
  if (metricsPort !== 0 && metricsPort === port) throw usage(`--metrics-port must differ from --port (both ${port}); 0 serves /metrics on the HTTPS port`);

  const logLevel = (pick(values['log-level'], env.NETGUARD_LOG_LEVEL) ?? 'info').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw usage(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }

  const tlsCert = pick(values['tls-cert'], env.NETGUARD_TLS_CERT);
  const tlsKey = pick(values['tls-key'], env.NETGUARD_TLS_KEY);
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw usage('--tls-cert and --tls-key go together: give both, or neither for the development certificate');
  }

  const certificates = parseCertificateConfig(values, env, { tlsCert, tlsKey });

  const delayText = env.NETGUARD_SHUTDOWN_DELAY_SECONDS ?? '';
  const delay = delayText === '' ? 5 : Number(delayText);
  if (!Number.isFinite(delay) || delay < 0) throw usage(`NETGUARD_SHUTDOWN_DELAY_SECONDS must be a number >= 0, got "${delayText}"`);

  const host = pick(values.host, env.NETGUARD_HOST) ?? '127.0.0.1';
  const clientCa = pick(values['client-ca'], env.NETGUARD_CLIENT_CA);

  return {
    policyFile: pick(values.policy, env.NETGUARD_POLICY) ?? DEFAULT_POLICY_FILE,
    host,
    port,
    metricsPort,
    certMode: certificates.certMode,
    ...(tlsCert !== undefined && tlsKey !== undefined ? { tlsCert, tlsKey } : {}),
    ...(certificates.selfManaged ? { selfManaged: certificates.selfManaged } : {}),
    ...(clientCa !== undefined ? { clientCa } : {}),
    ...kubeconfigOf(values.kubeconfig, env),
    logLevel: logLevel as LogLevel,
    certDir: pick(undefined, env.NETGUARD_CERT_DIR) ?? DEFAULT_CERT_DIR,
    shutdownDelayMs: Math.round(delay * 1000),
    help: values.help === true,
  };
}

function portNumber(flag: string, text: string): number {
  if (/^\d{1,5}$/.test(text) && Number(text) <= 65535) return Number(text);
  // NETGUARD_PORT=tcp://10.96.0.12:443: Docker-link variables for a Service named netguard (or netguard-metrics).
  const hint = text.startsWith('tcp://') ? ' (a Docker-link variable from a Service of that name: set enableServiceLinks: false in the pod spec)' : '';
  throw usage(`${flag} must be a number from 0 to 65535, got "${text}"${hint}`);
}

function kubeconfigOf(flag: string | undefined, env: NodeJS.ProcessEnv): Pick<ServeConfig, 'kubeconfig'> {
  if (flag !== undefined) return { kubeconfig: { path: flag, from: '--kubeconfig' } };
  if (env.NETGUARD_KUBECONFIG) return { kubeconfig: { path: env.NETGUARD_KUBECONFIG, from: 'NETGUARD_KUBECONFIG' } };
  if (env.KUBECONFIG) return { kubeconfig: { path: env.KUBECONFIG, from: 'KUBECONFIG' } };
  return {};
}
