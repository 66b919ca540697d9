// Where the serving certificate comes from, decided from flags and environment (pure, like
// config.ts, which calls this):
//   self-managed  netguard makes its CA and certificate, keeps them in a Secret, renews them and
//                 sets the webhook's caBundle (manifests/base)
//   files         --tls-cert/--tls-key, reloaded when they change (cert-manager, `netguard certs`)
//   dev           a development certificate for localhost, made once into certs/
// Without --cert-mode: files when --tls-cert is given, else dev (what `serve` always did).
import { VALIDITY_LIMITS } from '../certs/generate.ts';
import { INSTALL_NAMES } from '../certs/install-names.ts';
import { checkDnsLabel, checkDnsName } from '../certs/names.ts';
import { NetguardError, isNetguardError } from '../errors.ts';

export const CERT_MODES = ['self-managed', 'files', 'dev'] as const;
export type CertMode = (typeof CERT_MODES)[number];

export interface SelfManagedConfig {
  /** the namespace of the Service and the Secret: the pod's own */
  namespace: string;
  service: string;
  secretName: string;
  webhookConfiguration: string;
  servingValidityMs: number;
  caValidityMs: number;
  clusterDomain: string;
  /** this replica's name (POD_NAME); main falls back to the host name, which is the pod name in Kubernetes */
  pod?: string;
}

export const CERT_OPTIONS = {
  'cert-mode': { type: 'string' },
  'cert-secret': { type: 'string' },
  'webhook-config': { type: 'string' },
  service: { type: 'string' },
  namespace: { type: 'string' },
  'cert-validity': { type: 'string' },
  'ca-validity': { type: 'string' },
} as const;

export type CertFlagValues = Partial<Record<keyof typeof CERT_OPTIONS, string>>;

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: HOUR_MS, d: DAY_MS };

/** Go-style durations as Kubernetes people write them: 8760h, 90d, 1h30m. */
export function parseDuration(text: string): number | undefined {
  if (!/^(\d+[smhd])+$/.test(text)) return undefined;
  let ms = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)([smhd])/g)) ms += Number(n) * UNIT_MS[unit];
  return ms;
}

function usage(message: string): NetguardError {
  return new NetguardError('USAGE', message);
}

function pick(flag: string | undefined, ...env: (string | undefined)[]): string | undefined {
  if (flag !== undefined) return flag;
  return env.find((v) => v !== undefined && v !== '');
}

function duration(flag: string, text: string | undefined, fallbackMs: number, minMs: number, maxMs: number): number {
  if (text === undefined) return fallbackMs;
  const ms = parseDuration(text);
  if (ms === undefined) throw usage(`--${flag} must be a duration such as 8760h, 90d or 1h30m, got "${text}"`);
  if (ms < minMs || ms > maxMs) throw usage(`--${flag} must be between ${minMs / HOUR_MS}h and ${maxMs / DAY_MS}d, got ${text}`);
  return ms;
}

function label(flag: string, value: string): string {
  try {
    checkDnsLabel(flag, value);
  } catch (err) {
    if (isNetguardError(err)) throw usage(`--${flag}: ${err.message}`);
    throw err;
  }
  return value;
}

export function parseCertificateConfig(
  values: CertFlagValues,
  env: NodeJS.ProcessEnv,
  files: { tlsCert?: string; tlsKey?: string },
): { certMode: CertMode; selfManaged?: SelfManagedConfig } {
  const modeText = pick(values['cert-mode'], env.NETGUARD_CERT_MODE);
  if (modeText !== undefined && !(CERT_MODES as readonly string[]).includes(modeText)) {
    throw usage(`--cert-mode must be one of ${CERT_MODES.join(', ')}, got "${modeText}"`);
  }
  const hasFiles = files.tlsCert !== undefined;
  const mode = (modeText ?? (hasFiles ? 'files' : 'dev')) as CertMode;
  if (mode === 'files' && !hasFiles) throw usage('--cert-mode files needs --tls-cert and --tls-key');
  if (mode !== 'files' && hasFiles) throw usage(`--tls-cert and --tls-key are for --cert-mode files, not ${mode}`);
  if (mode !== 'self-managed') return { certMode: mode };

  const namespace = pick(values.namespace, env.NETGUARD_NAMESPACE, env.POD_NAMESPACE);
  if (namespace === undefined) {
    throw usage('--cert-mode self-managed needs the namespace netguard runs in: set POD_NAMESPACE from the downward API (manifests/base does) or --namespace');
  }
  const clusterDomain = pick(undefined, env.NETGUARD_CLUSTER_DOMAIN) ?? 'cluster.local';
  try {
    checkDnsName(clusterDomain);
  } catch {
    throw usage(`NETGUARD_CLUSTER_DOMAIN must be a DNS name, got "${clusterDomain}"`);
  }
  const servingValidityMs = duration('cert-validity', pick(values['cert-validity'], env.NETGUARD_CERT_VALIDITY), VALIDITY_LIMITS.days.default * DAY_MS, HOUR_MS, VALIDITY_LIMITS.days.max * DAY_MS);
  const caValidityMs = duration('ca-validity', pick(values['ca-validity'], env.NETGUARD_CA_VALIDITY), VALIDITY_LIMITS.caDays.default * DAY_MS, HOUR_MS, VALIDITY_LIMITS.caDays.max * DAY_MS);
  if (caValidityMs < servingValidityMs) throw usage('--ca-validity must be at least --cert-validity: a serving certificate cannot outlive its CA');
  const pod = pick(undefined, env.POD_NAME);
  return {
    certMode: mode,
    selfManaged: {
      namespace: label('namespace', namespace),
      service: label('service', pick(values.service, env.NETGUARD_SERVICE) ?? INSTALL_NAMES.service),
      secretName: pick(values['cert-secret'], env.NETGUARD_CERT_SECRET) ?? INSTALL_NAMES.secret,
      webhookConfiguration: pick(values['webhook-config'], env.NETGUARD_WEBHOOK_CONFIG) ?? INSTALL_NAMES.webhookConfiguration,
      servingValidityMs,
      caValidityMs,
      clusterDomain,
      ...(pod !== undefined ? { pod } : {}),
    },
  };
}
