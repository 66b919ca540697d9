// What to write to the certificate Secret next: a pure function of the Secret as read, the
// webhook configuration as read, this replica's last good copy, the time and the settings. Every
// replica runs it; writes carry the resourceVersion they were planned against, so when two
// replicas plan the same step one write wins and the other gets 409 Conflict, reads again and
// finds nothing left to do. The plan therefore never depends on who runs it.
//
// Why CA rotation is done in phases. The apiserver verifies the serving certificate against the
// caBundle in the webhook configuration, and the two change in different places: the caBundle
// reaches every apiserver through its own watch, a new Secret reaches every netguard replica
// through theirs, each after its own delay. Swapping both at once leaves a window in which some
// apiserver trusts only the old CA while some replica serves a certificate of the new one (or
// the reverse), and every admission call in that window fails. So the CA changes in three steps,
// each only after the previous one has certainly arrived everywhere:
//
//   stable            ca.crt = {A}     serving cert by A
//     │ A is two thirds through its life: make B
//   trusting-new-ca   ca.crt = {A, B}  serving cert by A   caBundle := {A, B}
//     │ the webhook configuration trusts {A, B} (seen, recorded as ca-bundle-confirmed-at),
//     │ and propagationMs has passed since, so every apiserver has it
//   serving-new-ca    ca.crt = {B, A}  serving cert by B   replicas move to the new certificate
//     │ every replica reported (replicas.netguard.io/<pod>) that it serves the new certificate,
//     │ or maxOverlapMs passed (a replica that never reports is gone or cut off)
//   stable            ca.crt = {B}     serving cert by B   caBundle := {B}
//
// At every moment each replica serves a certificate of a CA that every apiserver trusts. Renewing
// the serving certificate alone (two thirds into its life, from the same CA) needs none of this:
// the old and the new certificate are both valid and both trusted.
//
// Repairs keep trust whenever they can: a deleted or garbled Secret is rewritten from the copy a
// running replica still holds (same certificates: nothing changes for the apiserver); a Secret
// whose CA survived but whose serving pair did not gets a new serving certificate from that CA;
// only when nothing is left is a new CA made, and then the replicas and the caBundle change
// together (there is no trusted state to keep). An expired signing CA is not a state to keep
// either: the apiserver already refuses it. If a new CA was already being introduced, it takes
// over; else a new one is made at once.
import { X509Certificate } from 'node:crypto';
import type { KeyType } from '../x509.ts';
import { BACKDATE_MS, issueCa, issueServing } from '../issue.ts';
import { certId, dnsNamesOf, issuedAt, notAfter, shortId, twoThirdsAt } from './pem.ts';
import { phaseOf, trustOf, type Ca, type Decoded, type ManagedState, type Serving } from './secret-format.ts';
import { bundleMatches, type WebhookObservation } from './webhook-bundle.ts';

export interface PlanSettings {
  /** subject alternative names of the serving certificate */
  dnsNames: string[];
  servingValidityMs: number;
  caValidityMs: number;
  /** after the webhook configuration trusts a new CA, wait this long before serving from it */
  propagationMs: number;
  /** the longest the old CA stays trusted waiting for replicas to report the new certificate */
  maxOverlapMs: number;
  keyType: KeyType;
}

export interface PlanInput {
  /** the Secret as read: missing, or decoded */
  secret: { kind: 'missing' } | Decoded;
  webhook: WebhookObservation;
  /** this replica's last valid state, if it ever read one */
  memory?: ManagedState;
  now: number;
  settings: PlanSettings;
}

export type WriteReason =
  | 'created' // no Secret: the first replica makes everything
  | 'restored' // deleted or garbled: rewritten from this replica's copy
  | 'repaired' // garbled, but its CA survived: new serving certificate from it
  | 'regenerated' // garbled beyond use, and no copy: new CA and certificate
  | 'ca-expired' // the signing CA expired: the next CA takes over, or a new one is made
  | 'normalized' // the phase timestamp was missing or unreadable: record one
  | 'serving-renewed'
  | 'serving-names-changed'
  | 'ca-rotation-started'
  | 'ca-bundle-confirmed'
  | 'ca-bundle-changed' // the webhook configuration stopped trusting the new CA: confirm again
  | 'ca-switched'
  | 'ca-rotation-finished';

export interface Plan {
  write?: { state: ManagedState; reason: WriteReason; detail?: string };
  /** epoch ms at which the plan may change with nothing else changing; undefined: no deadline */
  wakeAt?: number;
}

function caName(now: number): string {
  // Unique subjects: two CAs in one bundle must not share a name, or a verifier could pick the wrong one.
  return `netguard-ca-${new Date(now).toISOString().slice(0, 19).replace(/[-:]/g, '')}-${Math.random().toString(16).slice(2, 8)}`;
}

function newCa(now: number, s: PlanSettings): Ca {
  const pem = issueCa({ commonName: caName(now), now, validityMs: s.caValidityMs, keyType: s.keyType });
  return { cert: new X509Certificate(pem.cert), key: pem.key };
}

function newServing(ca: Ca, now: number, s: PlanSettings): Serving {
  const pem = issueServing({ ca: { cert: ca.cert.toString(), key: ca.key }, dnsNames: s.dnsNames, now, validityMs: s.servingValidityMs });
  return { cert: new X509Certificate(pem.cert), key: pem.key };
}

function fresh(now: number, s: PlanSettings): ManagedState {
  const signing = newCa(now, s);
  return { phase: 'stable', phaseSince: now, signing, retiring: [], serving: newServing(signing, now, s), replicas: {} };
}

/** Valid now: the CA and the serving certificate have not expired. */
function usable(state: ManagedState, now: number): boolean {
  return now < notAfter(state.signing.cert) && now < notAfter(state.serving.cert);
}

/**
 * Reports of replicas that did not move to the current serving certificate within maxOverlapMs
 * of its issue belong to pods that are gone (or cut off from the API for that long): dropped.
 */
function liveReplicas(state: ManagedState, now: number, s: PlanSettings): ManagedState['replicas'] {
  const current = shortId(state.serving.cert);
  const staleAfter = issuedAt(state.serving.cert, BACKDATE_MS) + s.maxOverlapMs;
  const out: ManagedState['replicas'] = {};
  for (const [pod, r] of Object.entries(state.replicas)) if (r.serving === current || now < staleAfter) out[pod] = r;
  return out;
}

function sameNames(cert: X509Certificate, wanted: string[]): boolean {
  const have = dnsNamesOf(cert).sort();
  const want = [...wanted].sort();
  return have.length === want.length && have.every((n, i) => n === want[i]);
}

function write(state: ManagedState, reason: WriteReason, input: PlanInput, detail?: string): Plan {
  const next = { ...state, phase: phaseOf(state) };
  next.replicas = liveReplicas(next, input.now, input.settings);
  return { write: { state: next, reason, ...(detail ? { detail } : {}) } };
}

function earliest(...times: (number | undefined)[]): number | undefined {
  const defined = times.filter((t): t is number => t !== undefined);
  return defined.length > 0 ? Math.min(...defined) : undefined;
}

export function plan(input: PlanInput): Plan {
  const { secret, memory, now, settings: s } = input;
  if (secret.kind === 'missing') {
    if (memory && usable(memory, now)) return write(memory, 'restored', input, 'the Secret was deleted');
    return write(fresh(now, s), 'created', input);
  }
  if (secret.kind === 'invalid') {
    const problems = secret.problems.join('; ');
    const salvage = secret.salvage;
    if (salvage && now < notAfter(salvage.signing.cert)) {
      const signingId = certId(salvage.signing.cert);
      const retiring = salvage.trust.filter((c) => certId(c) !== signingId && now < notAfter(c));
      const state: ManagedState = { phase: 'stable', phaseSince: now, signing: salvage.signing, retiring, serving: newServing(salvage.signing, now, s), replicas: {} };
      return write(state, 'repaired', input, problems);
    }
    if (memory && usable(memory, now)) return write(memory, 'restored', input, problems);
    return write(fresh(now, s), 'regenerated', input, problems);
  }

  const st = secret.state;
  if (now >= notAfter(st.signing.cert)) {
    const expired = `the CA ${st.signing.cert.subject.replace(/^CN=/, '')} expired at ${new Date(notAfter(st.signing.cert)).toISOString()}`;
    if (st.next && now < notAfter(st.next.cert)) {
      const state: ManagedState = { ...st, phaseSince: now, signing: st.next, next: undefined, retiring: [], serving: newServing(st.next, now, s) };
      delete state.next;
      delete state.bundleConfirmedAt;
      return write(state, 'ca-expired', input, `${expired}; the CA being introduced takes over`);
    }
    return write(fresh(now, s), 'ca-expired', input, `${expired}; made a new CA`);
  }
  if (st.phaseSince === undefined) return write({ ...st, phaseSince: now }, 'normalized', input);

  const renewServingAt = twoThirdsAt(st.serving.cert, BACKDATE_MS);
  if (!sameNames(st.serving.cert, s.dnsNames)) {
    return write({ ...st, serving: newServing(st.signing, now, s) }, 'serving-names-changed', input, `was ${dnsNamesOf(st.serving.cert).join(', ')}`);
  }
  if (now >= renewServingAt) {
    // Only when the new certificate would outlive the current one: near the end of the CA's life
    // a renewal is cut to the CA's notAfter and would gain nothing (the CA rotation is under way).
    if (Math.min(now + s.servingValidityMs, notAfter(st.signing.cert)) > notAfter(st.serving.cert)) {
      return write({ ...st, serving: newServing(st.signing, now, s) }, 'serving-renewed', input);
    }
  }
  const servingWake = now < renewServingAt ? renewServingAt : undefined;

  switch (st.phase) {
    case 'stable': {
      const rotateAt = twoThirdsAt(st.signing.cert, BACKDATE_MS);
      if (now >= rotateAt) {
        const state: ManagedState = { ...st, phaseSince: now, next: newCa(now, s) };
        delete state.bundleConfirmedAt;
        return write(state, 'ca-rotation-started', input);
      }
      return { wakeAt: earliest(servingWake, rotateAt) };
    }
    case 'trusting-new-ca': {
      if (input.webhook.kind !== 'present') return { wakeAt: servingWake }; // unknown or missing: wait, retried by the caller
      const trusted = bundleMatches(input.webhook, trustOf(st));
      if (st.bundleConfirmedAt === undefined) {
        return trusted ? write({ ...st, bundleConfirmedAt: now }, 'ca-bundle-confirmed', input) : { wakeAt: servingWake };
      }
      if (!trusted) {
        const state = { ...st };
        delete state.bundleConfirmedAt;
        return write(state, 'ca-bundle-changed', input);
      }
      const switchAt = st.bundleConfirmedAt + s.propagationMs;
      if (now < switchAt) return { wakeAt: earliest(servingWake, switchAt) };
      const next = st.next!;
      const state: ManagedState = { ...st, phaseSince: now, signing: next, retiring: [st.signing.cert, ...st.retiring], serving: newServing(next, now, s) };
      delete state.next;
      delete state.bundleConfirmedAt;
      return write(state, 'ca-switched', input);
    }
    case 'serving-new-ca': {
      const current = shortId(st.serving.cert);
      const pending = Object.entries(liveReplicas(st, now, s)).filter(([, r]) => r.serving !== current).map(([pod]) => pod);
      const deadline = st.phaseSince + s.maxOverlapMs;
      if (pending.length === 0 || now >= deadline) {
        const behind = Object.entries(st.replicas).filter(([, r]) => r.serving !== current).map(([pod]) => pod);
        const detail = behind.length > 0 ? `replicas that never reported the new certificate: ${behind.join(', ')}` : undefined;
        return write({ ...st, phaseSince: now, retiring: [] }, 'ca-rotation-finished', input, detail);
      }
      return { wakeAt: earliest(servingWake, deadline) };
    }
  }
}
