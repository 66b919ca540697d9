// The caBundle side: what the ValidatingWebhookConfiguration trusts, and the patch that makes
// every one of its webhooks trust exactly the Secret's ca.crt. The patch is a JSON patch whose
// first operation rewrites metadata.resourceVersion to the value we read: the apiserver treats
// that as a precondition (409 Conflict if someone wrote in between), so we never overwrite an
// edit we have not seen, and the webhook indexes we patch are the ones we looked at.
import type { X509Certificate } from 'node:crypto';
import { certId, parseBundle } from './pem.ts';

export const CERT_MANAGER_INJECT = 'cert-manager.io/inject-ca-from';

export type WebhookObservation =
  | { kind: 'unknown' } // not read yet, or the last read failed
  | { kind: 'missing' }
  | {
      kind: 'present';
      resourceVersion: string;
      /** per webhook, the certificate ids its caBundle holds (empty: none, or garbage) */
      bundles: Set<string>[];
      webhookNames: string[];
      /** the cert-manager injector would fight us over the caBundle */
      certManagerInjects?: string;
    };

export function observeWebhook(obj: any): WebhookObservation {
  const webhooks: any[] = Array.isArray(obj?.webhooks) ? obj.webhooks : [];
  const bundles = webhooks.map((w) => {
    const b64 = w?.clientConfig?.caBundle;
    if (typeof b64 !== 'string' || b64 === '') return new Set<string>();
    return new Set(parseBundle(Buffer.from(b64, 'base64').toString('utf8')).map(certId));
  });
  const inject = obj?.metadata?.annotations?.[CERT_MANAGER_INJECT];
  return {
    kind: 'present',
    resourceVersion: String(obj?.metadata?.resourceVersion ?? ''),
    bundles,
    webhookNames: webhooks.map((w) => String(w?.name ?? '')),
    ...(typeof inject === 'string' ? { certManagerInjects: inject } : {}),
  };
}

function sameSet(a: Set<string>, b: Set<string>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}

/** Every webhook trusts exactly these certificates. */
export function bundleMatches(obs: WebhookObservation, trust: readonly X509Certificate[]): boolean {
  if (obs.kind !== 'present') return false;
  const want = new Set(trust.map(certId));
  return obs.bundles.every((b) => sameSet(b, want));
}

/** Every webhook trusts (at least) this CA: the apiserver accepts a certificate it signed. */
export function bundleTrusts(obs: WebhookObservation, ca: X509Certificate): boolean {
  if (obs.kind !== 'present') return false;
  const id = certId(ca);
  return obs.bundles.every((b) => b.has(id));
}

/** The JSON patch that sets the caBundle of each webhook that differs; undefined when none does. */
export function caBundlePatch(obs: WebhookObservation, trust: readonly X509Certificate[], pem: string): object[] | undefined {
  if (obs.kind !== 'present') return undefined;
  const want = new Set(trust.map(certId));
  const value = Buffer.from(pem, 'utf8').toString('base64');
  const ops = obs.bundles.flatMap((b, i) => (sameSet(b, want) ? [] : [{ op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value }]));
  if (ops.length === 0) return undefined;
  return [{ op: 'replace', path: '/metadata/resourceVersion', value: obs.resourceVersion }, ...ops];
}
