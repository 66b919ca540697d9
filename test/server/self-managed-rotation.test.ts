// Serving-certificate renewal and a full CA rotation, with two replicas and a stream of requests
// that never stops, none of which may fail. Each request is what the apiserver does: a fresh TLS
// connection that trusts only the caBundle of the webhook configuration (read from the fake at
// that moment) and checks the certificate against the Service name. An apiserver can lag behind
// a caBundle change, so while a change is younger than the propagation delay, requests are also
// made trusting the caBundle as it was before: a replica that switched too early fails those.
//
// Time: the replicas share an injected clock that the test moves one second per step (lifetimes
// of a minute or so), while the certificates are also checked by Node's TLS against the real
// clock. That works because certificates are backdated five minutes and the test moves the clock
// less than that, so every certificate issued is valid in real time too. Nobody waits for real.
import t from 'tap';
import { eventually } from '../fake-apiserver.ts';
import { bundleIds, caBundles, NS, probe, SECRET, startFake, startReplica, trustedCall, type Replica } from './self-managed-helpers.ts';

const STEP_MS = 1000;
const PROPAGATION_MS = 5000;
/** How far the test's lagging "apiserver" is behind: under the propagation delay, with a step to spare. */
const LAG_MS = PROPAGATION_MS - STEP_MS;

t.test('renewal and CA rotation under a stream of requests: none fails', async (t) => {
  const dir = t.testdir({});
  const fake = await startFake(t);
  let offset = 0;
  const clock = { now: () => Date.now() + offset };
  const tuning = {
    clock,
    servingValidityMs: 60_000, // renewed at 40 s
    caValidityMs: 100_000, // rotated from 66.7 s
    propagationMs: PROPAGATION_MS,
    maxOverlapMs: 30_000,
    resyncMs: 60_000, // the test drives the passes
  };
  const replicas: Replica[] = [await startReplica(t, fake, dir, 'netguard-a', tuning), await startReplica(t, fake, dir, 'netguard-b', tuning)];
  for (const r of replicas) await eventually(async () => (await probe(r.port, '/readyz')).status === 200, `${r.pod} ready`);

  const phase = () => fake.get('Secret', NS, SECRET)?.metadata?.annotations?.['netguard.io/ca-rotation-phase'];
  const history: { bundle: string; since: number }[] = [];
  const failures: string[] = [];
  const served: { phase: string; fingerprint: string; pod: string }[] = [];
  let stop = false;
  const stream = (async () => {
    for (let i = 0; !stop; i++) {
      const bundles = caBundles(fake);
      t.equal(new Set(bundles).size, 1, 'every webhook holds the same caBundle');
      const current = bundles[0];
      if (history.at(-1)?.bundle !== current) history.push({ bundle: current, since: clock.now() });
      const trusts = [current];
      const before = history.at(-2);
      if (before && clock.now() - history.at(-1)!.since < LAG_MS) trusts.push(before.bundle);
      const r = replicas[i % replicas.length];
      for (const ca of trusts) {
        const p = phase();
        try {
          served.push({ phase: p, fingerprint: await trustedCall(r.port, ca), pod: r.pod });
        } catch (err) {
          failures.push(`${r.pod} at +${offset / 1000}s (${p}), trusting ${bundleIds(ca).length} CA(s)${ca === current ? '' : ' (lagging)'}: ${(err as Error).message}`);
        }
      }
    }
  })();

  const notReady: string[] = [];
  for (let step = 1; step <= 110; step++) {
    offset += STEP_MS;
    await Promise.all(replicas.map((r) => r.server.certificates.reconcile!()));
    const target = served.length + 4;
    await eventually(() => served.length >= target || failures.length > 0, `requests flow at step ${step}`);
    for (const r of replicas) {
      const readyz = await probe(r.port, '/readyz');
      if (readyz.status !== 200) notReady.push(`${r.pod} at +${step}s: ${readyz.body.reason}`);
    }
  }
  stop = true;
  await stream;

  t.same(failures, [], 'no request failed');
  t.same(notReady, [], 'both replicas stayed ready');
  const sizes = history.map((h) => bundleIds(h.bundle).length);
  t.same(sizes, [1, 2, 1], 'the caBundle went {A} → {A, B} → {B}');
  const [a, both, b] = history.map((h) => bundleIds(h.bundle));
  t.ok(both.includes(a[0]) && both.includes(b[0]) && a[0] !== b[0], 'A was kept until B replaced it');
  const phases = new Set(served.map((s) => s.phase));
  for (const p of ['stable', 'trusting-new-ca', 'serving-new-ca']) t.ok(phases.has(p), `requests were answered during ${p}`);
  const fingerprints = [...new Set(served.map((s) => s.fingerprint))];
  t.ok(fingerprints.length >= 3, `serving certificates seen: ${fingerprints.length} (first, renewed from A, then from B)`);
  const last = await Promise.all(replicas.map((r) => trustedCall(r.port, caBundles(fake)[0])));
  t.equal(last[0], last[1], 'both replicas serve the same certificate in the end');
  t.equal(phase(), 'stable');
  const annotations = fake.get('Secret', NS, SECRET).metadata.annotations;
  t.ok(annotations['replicas.netguard.io/netguard-a'] && annotations['replicas.netguard.io/netguard-b'], 'both replicas reported');
  t.ok(served.length > 400, `requests made: ${served.length}`);
});
