// The certificate Secret netguard keeps for itself, read and written. Type kubernetes.io/tls:
//   data  tls.crt       the serving certificate (every replica serves this one)
//         tls.key       its key
//         ca.crt        the trust bundle: every CA the apiserver must trust right now, exactly
//                       what goes into the webhook configuration's caBundle
//         ca.key        the key of the CA in ca.crt that signs tls.crt (the "signing" CA)
//         next-ca.key   only while a new CA is being introduced: the key of the new CA in ca.crt
//   annotations
//         netguard.io/ca-rotation-phase         stable | trusting-new-ca | serving-new-ca
//         netguard.io/ca-rotation-phase-since   when that phase began (RFC 3339)
//         netguard.io/ca-bundle-confirmed-at    trusting-new-ca only: when the webhook
//                                               configuration was first seen trusting the new CA
//         replicas.netguard.io/<pod>            "<certificate id> <RFC 3339>": the serving
//                                               certificate that replica serves, and since when
// The data is the truth: the phase follows from it (a next CA → trusting-new-ca; CAs besides the
// signing one → serving-new-ca; else stable), and the phase annotation records it for people
// (`kubectl get secret -o yaml`) and for the phase's timestamps. Decoding never throws: what
// cannot be served from comes back as a list of problems, with what can be salvaged.
import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { certId, parseBundle, shortId, toPem } from './pem.ts';

export const DATA_KEYS = { cert: 'tls.crt', key: 'tls.key', trust: 'ca.crt', caKey: 'ca.key', nextCaKey: 'next-ca.key' } as const;

export const ANNOTATIONS = {
  phase: 'netguard.io/ca-rotation-phase',
  phaseSince: 'netguard.io/ca-rotation-phase-since',
  bundleConfirmedAt: 'netguard.io/ca-bundle-confirmed-at',
} as const;

export const REPLICA_PREFIX = 'replicas.netguard.io/';

export type Phase = 'stable' | 'trusting-new-ca' | 'serving-new-ca';

export interface Ca {
  cert: X509Certificate;
  /** PKCS#8 PEM */
  key: string;
}

export interface Serving {
  cert: X509Certificate;
  key: string;
}

export interface ReplicaReport {
  /** shortId of the serving certificate the replica serves */
  serving: string;
  /** epoch ms */
  at: number;
}

export interface ManagedState {
  /** derived from the data; see the file comment */
  phase: Phase;
  /** epoch ms; undefined when the annotation is missing or unreadable (the planner records one) */
  phaseSince?: number;
  bundleConfirmedAt?: number;
  /** signs the serving certificate */
  signing: Ca;
  /** trusting-new-ca: the CA being introduced, trusted but not yet signing */
  next?: Ca;
  /** CAs still trusted that sign nothing any more: the ones being retired */
  retiring: X509Certificate[];
  serving: Serving;
  /** by pod name */
  replicas: Record<string, ReplicaReport>;
}

export type Decoded =
  | { kind: 'valid'; state: ManagedState; notes: string[] }
  | { kind: 'invalid'; problems: string[]; salvage?: { signing: Ca; trust: X509Certificate[] } };

export function phaseOf(state: Pick<ManagedState, 'next' | 'retiring'>): Phase {
  return state.next ? 'trusting-new-ca' : state.retiring.length > 0 ? 'serving-new-ca' : 'stable';
}

/** ca.crt: the signing CA, the next one, then those being retired. */
export function trustOf(state: Pick<ManagedState, 'signing' | 'next' | 'retiring'>): X509Certificate[] {
  return [state.signing.cert, ...(state.next ? [state.next.cert] : []), ...state.retiring];
}

export function trustPem(state: Pick<ManagedState, 'signing' | 'next' | 'retiring'>): string {
  return trustOf(state).map(toPem).join('');
}

function text(data: Record<string, unknown> | undefined, key: string, problems: string[]): string | undefined {
  const value = data?.[key];
  if (typeof value !== 'string' || value === '') {
    problems.push(`data["${key}"] is missing`);
    return undefined;
  }
  return Buffer.from(value, 'base64').toString('utf8');
}

/** The certificate in `certs` that `keyPem` belongs to; undefined when the key does not parse or matches none. */
function owner(certs: X509Certificate[], keyPem: string): X509Certificate | undefined {
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    return undefined;
  }
  return certs.find((c) => {
    try {
      return c.checkPrivateKey(key);
    } catch {
      return false; // a key of another algorithm
    }
  });
}

function time(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : t;
}

export function readReplicas(annotations: Record<string, string> | undefined): Record<string, ReplicaReport> {
  const out: Record<string, ReplicaReport> = {};
  for (const [key, value] of Object.entries(annotations ?? {})) {
    if (!key.startsWith(REPLICA_PREFIX)) continue;
    const m = /^([0-9a-f]{16}) (\S+)$/.exec(String(value));
    const at = m ? time(m[2]) : undefined;
    if (m && at !== undefined) out[key.slice(REPLICA_PREFIX.length)] = { serving: m[1], at };
  }
  return out;
}

export function decodeSecret(secret: any): Decoded {
  const problems: string[] = [];
  const data = secret?.data && typeof secret.data === 'object' ? secret.data : undefined;
  const trustText = text(data, DATA_KEYS.trust, problems);
  const caKey = text(data, DATA_KEYS.caKey, problems);
  const certText = text(data, DATA_KEYS.cert, problems);
  const keyText = text(data, DATA_KEYS.key, problems);
  const nextKey = data?.[DATA_KEYS.nextCaKey] !== undefined ? text(data, DATA_KEYS.nextCaKey, problems) : undefined;

  const trust = trustText !== undefined ? parseBundle(trustText) : [];
  if (trustText !== undefined && trust.length === 0) problems.push(`data["${DATA_KEYS.trust}"] holds no certificate`);
  const signingCert = caKey !== undefined && trust.length > 0 ? owner(trust, caKey) : undefined;
  if (caKey !== undefined && trust.length > 0 && !signingCert) problems.push(`data["${DATA_KEYS.caKey}"] is not the key of any certificate in ${DATA_KEYS.trust}`);
  if (signingCert && !signingCert.ca) problems.push(`the certificate of ${DATA_KEYS.caKey} is not a CA`);
  const signing = signingCert?.ca && caKey ? { cert: signingCert, key: caKey } : undefined;

  let next: Ca | undefined;
  if (nextKey !== undefined) {
    const nextCert = owner(trust, nextKey);
    if (!nextCert || !nextCert.ca || (signing && certId(nextCert) === certId(signing.cert))) {
      problems.push(`data["${DATA_KEYS.nextCaKey}"] is not the key of another CA in ${DATA_KEYS.trust}`);
    } else next = { cert: nextCert, key: nextKey };
  }

  let serving: Serving | undefined;
  if (certText !== undefined && keyText !== undefined) {
    let cert: X509Certificate | undefined;
    try {
      cert = new X509Certificate(certText);
    } catch {
      problems.push(`data["${DATA_KEYS.cert}"] is not a certificate`);
    }
    if (cert && !owner([cert], keyText)) problems.push(`data["${DATA_KEYS.key}"] is not the key of the certificate in ${DATA_KEYS.cert}`);
    else if (cert && signing && !(cert.checkIssued(signing.cert) && cert.verify(signing.cert.publicKey))) {
      problems.push(`the certificate in ${DATA_KEYS.cert} is not signed by the CA of ${DATA_KEYS.caKey}`);
    } else if (cert) serving = { cert, key: keyText };
  }

  const cas = trust.filter((c) => c.ca);
  if (problems.length > 0 || !signing || !serving) {
    return { kind: 'invalid', problems, ...(signing ? { salvage: { signing, trust: cas } } : {}) };
  }

  const notes: string[] = [];
  const known = new Set([certId(signing.cert), ...(next ? [certId(next.cert)] : [])]);
  const retiring = cas.filter((c) => !known.has(certId(c)));
  if (cas.length < trust.length) notes.push(`${trust.length - cas.length} certificate(s) in ${DATA_KEYS.trust} are not CAs and are dropped`);
  const annotations: Record<string, string> = secret?.metadata?.annotations ?? {};
  const phase = phaseOf({ next, retiring });
  if (annotations[ANNOTATIONS.phase] !== phase) notes.push(`annotation ${ANNOTATIONS.phase} says ${JSON.stringify(annotations[ANNOTATIONS.phase] ?? null)}, the data says ${phase}`);
  const recordedSince = annotations[ANNOTATIONS.phase] === phase ? time(annotations[ANNOTATIONS.phaseSince]) : undefined;
  const confirmed = phase === 'trusting-new-ca' ? time(annotations[ANNOTATIONS.bundleConfirmedAt]) : undefined;
  return {
    kind: 'valid',
    notes,
    state: {
      phase,
      ...(recordedSince !== undefined ? { phaseSince: recordedSince } : {}),
      ...(confirmed !== undefined ? { bundleConfirmedAt: confirmed } : {}),
      signing,
      ...(next ? { next } : {}),
      retiring,
      serving,
      replicas: readReplicas(annotations),
    },
  };
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const iso = (ms: number) => new Date(ms).toISOString();

export function replicaValue(report: ReplicaReport): string {
  return `${report.serving} ${iso(report.at)}`;
}

/**
 * The Secret for a state. `base` (the Secret as read) keeps its metadata (resourceVersion: the
 * write's precondition), its type and annotations that are not ours; ours are rewritten whole.
 */
export function encodeSecret(state: ManagedState, ref: { namespace: string; name: string }, base?: any): any {
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries<string>(base?.metadata?.annotations ?? {})) {
    if (!k.startsWith(REPLICA_PREFIX) && !(Object.values(ANNOTATIONS) as string[]).includes(k)) annotations[k] = v;
  }
  annotations[ANNOTATIONS.phase] = state.phase;
  if (state.phaseSince !== undefined) annotations[ANNOTATIONS.phaseSince] = iso(state.phaseSince);
  if (state.phase === 'trusting-new-ca' && state.bundleConfirmedAt !== undefined) annotations[ANNOTATIONS.bundleConfirmedAt] = iso(state.bundleConfirmedAt);
  for (const [pod, report] of Object.entries(state.replicas)) annotations[REPLICA_PREFIX + pod] = replicaValue(report);
  const data: Record<string, string> = {
    [DATA_KEYS.cert]: b64(toPem(state.serving.cert)),
    [DATA_KEYS.key]: b64(state.serving.key),
    [DATA_KEYS.trust]: b64(trustPem(state)),
    [DATA_KEYS.caKey]: b64(state.signing.key),
    ...(state.next ? { [DATA_KEYS.nextCaKey]: b64(state.next.key) } : {}),
  };
  const metadata = {
    ...(base?.metadata ?? {}),
    name: ref.name,
    namespace: ref.namespace,
    labels: { ...(base?.metadata?.labels ?? {}), 'app.kubernetes.io/name': 'netguard', 'app.kubernetes.io/managed-by': 'netguard' },
    annotations,
  };
  return { apiVersion: 'v1', kind: 'Secret', metadata, type: base?.type ?? 'kubernetes.io/tls', data };
}

/**
 * The annotation key for a pod: the name part of a key is at most 63 characters of [A-Za-z0-9-_.],
 * beginning and ending alphanumeric. Pod names fit; anything else is cut and given a hash suffix.
 */
export function replicaKey(pod: string): string {
  const clean = pod.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '') || 'replica';
  if (clean.length <= 63) return clean;
  const hash = createHash('sha256').update(pod).digest('hex').slice(0, 8);
  return `${clean.slice(0, 54).replace(/[^A-Za-z0-9]+$/, '')}-${hash}`;
}

export { shortId };
