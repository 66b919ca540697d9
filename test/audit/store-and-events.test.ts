// What the findings store tells the outputs, and what the Event writer makes of it, at the edges:
//   - a finding whose verdict or action changes under the same rule, message id and field (the
//     cache was stale and caught up, or the other way round, or a reload made a warning a
//     denial): an unknown that turns into a violation gets its Event and its grace period; a
//     violation that turns into an unknown stops holding its Event up;
//   - an object deleted and created again under its name is another object (another uid);
//   - Event names stay valid DNS subdomains whatever the object's name.
import t from 'tap';
import { EventWriter, eventName } from '../../src/audit/events.ts';
import { FindingsStore, type Transitions } from '../../src/audit/findings-store.ts';
import { RULES } from '../../src/policies/registry.ts';
import type { Finding } from '../../src/policies/types.ts';

const GRACE = 120_000;
const none = (): Transitions => ({ appeared: [], disappeared: [] });
const ref = { apiVersion: 'v1', kind: 'Service', namespace: 'shop', name: 'web' };
const finding = (extra: Partial<Finding> = {}): Finding => ({
  rule: 'service-selector-has-match', messageId: 'no-match', action: 'warn', verdict: 'violation', applyOrder: true,
  object: ref, message: 'selector app=web matches no pod', path: 'spec.selector', ...extra,
});
const unknown = finding({ verdict: 'unknown', message: '(cluster cache stale) selector app=web matches no pod' });
const summary = (out: Transitions) => ({
  appeared: out.appeared.map((a) => a.finding.finding.verdict),
  disappeared: out.disappeared.map((a) => a.finding.finding.verdict),
});

t.test('an unknown that becomes a violation is published as one (on its old clock)', async (t) => {
  const store = new FindingsStore({ maxFindings: 100 });
  let out = none();
  store.set('Service/shop/web', ref, 'uid', [unknown], 1000, GRACE, 1000, out);
  t.same(summary(out), { appeared: ['unknown'], disappeared: [] }, 'an unknown is published at once');
  // The cache catches up inside the grace period: the violation waits out the rest of it.
  out = none();
  store.set('Service/shop/web', ref, 'uid', [finding()], 60_000, GRACE, 60_000, out);
  t.same(summary(out), { appeared: [], disappeared: ['unknown'] }, 'the unknown withdrawn, the violation held');
  t.equal(store.pending, 1);
  t.same([...store.counts.keys()], [], 'nothing counted while it waits');
  out = none();
  t.equal(store.promote(120_999, out), 121_000, 'its grace runs from when the unknown was first seen');
  store.promote(121_000, out);
  t.same(summary(out), { appeared: ['violation'], disappeared: [] }, 'then published: the Event writer hears of it');
  t.same([...store.counts], [['service-selector-has-match\u0000shop\u0000warn\u0000violation', 1]]);

  // Unknown for longer than the grace period, then a violation: published at once.
  const late = new FindingsStore({ maxFindings: 100 });
  late.set('Service/shop/web', ref, 'uid', [unknown], 1000, GRACE, 1000, none());
  out = none();
  late.set('Service/shop/web', ref, 'uid', [finding()], 500_000, GRACE, 500_000, out);
  t.same(summary(out), { appeared: ['violation'], disappeared: ['unknown'] });
});

t.test('a violation that becomes an unknown, or changes action, is withdrawn and published anew', async (t) => {
  const store = new FindingsStore({ maxFindings: 100 });
  store.set('Service/shop/web', ref, 'uid', [finding()], 1000, GRACE, -GRACE, none());
  let out = none();
  store.set('Service/shop/web', ref, 'uid', [unknown], 2000, GRACE, 2000, out);
  t.same(summary(out), { appeared: ['unknown'], disappeared: ['violation'] });
  out = none();
  store.set('Service/shop/web', ref, 'uid', [finding()], 3000, GRACE, 3000, out);
  t.same(summary(out), { appeared: ['violation'], disappeared: ['unknown'] }, 'back to a violation: no new grace period');
  out = none();
  store.set('Service/shop/web', ref, 'uid', [finding({ action: 'deny' })], 4000, GRACE, 4000, out);
  t.same(out.appeared.map((a) => a.finding.finding.action), ['deny'], 'a reload made it a denial: the reports hear of it');
  t.same(out.disappeared.map((a) => a.finding.finding.action), ['warn']);
  t.equal(store.size, 1, 'still one finding');
  out = none();
  store.set('Service/shop/web', ref, 'uid', [finding({ action: 'deny', message: 'reworded' })], 5000, GRACE, 5000, out);
  t.same(summary(out), { appeared: [], disappeared: [] }, 'only the wording changed: nothing to tell');
  t.equal(store.get('Service/shop/web')!.findings[0].finding.message, 'reworded', 'updated in place');
});

t.test('Event writer: an unknown turning into a violation gets its Event; the reverse stops it', async (t) => {
  let now = 1_000_000;
  const created: any[] = [];
  const patched: any[] = [];
  const client = {
    async create(_ref: any, body: any) {
      created.push(body);
      return body;
    },
    async patch(_ref: any, _name: string, _type: any, patch: any) {
      patched.push(patch);
      return patch;
    },
  };
  const writer = new EventWriter({ client, isLeader: () => true, enabled: () => true, identity: 'p', rules: RULES, now: () => now, tuning: { burst: 10, perSecond: 10, minIntervalMs: 60_000, refreshMs: 600_000 } });
  t.teardown(() => writer.stop());
  const store = new FindingsStore({ maxFindings: 100 });
  const apply = (f: Finding) => {
    const out = none();
    store.set('Service/shop/web', ref, 'uid', [f], now, GRACE, now - GRACE, out);
    writer.take(out);
  };
  const settle = async () => {
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  };
  apply(unknown);
  await settle();
  t.same(created, [], 'an unknown writes no Event');
  apply(finding());
  await settle();
  t.equal(created.length, 1, 'the violation it became does');
  t.match(created[0], { type: 'Warning', involvedObject: { name: 'web', uid: 'uid' }, message: /^\[service-selector-has-match\] selector app=web/ });
  apply(unknown);
  await settle();
  // A new term of leadership rewrites every Event still held up: this one must not be.
  now += 600_001;
  writer.leaderChanged(true);
  await settle();
  t.same([created.length, patched.length], [1, 0], 'a violation turned unknown no longer holds its Event up');
  apply(finding());
  await settle();
  t.equal(created.length + patched.length, 2, 'and the violation back again touches it once more');
});

t.test('an object deleted and created again under its name between two evaluations is another object', async (t) => {
  const store = new FindingsStore({ maxFindings: 100 });
  const now = finding({ applyOrder: false });
  store.set('Service/shop/web', ref, 'uid-1', [now], 1000, GRACE, 1000, none());
  const out = none();
  store.set('Service/shop/web', ref, 'uid-2', [now], 2000, GRACE, 2000, out);
  t.same(out.disappeared.map((d) => d.record.uid), ['uid-1'], 'the old object\'s finding withdrawn');
  t.same(out.appeared.map((a) => a.record.uid), ['uid-2'], 'the new one\'s published under its own uid (its Event names it)');
  t.equal(store.get('Service/shop/web')!.uid, 'uid-2');
  t.equal(store.size, 1);
});

t.test('Event names are valid DNS subdomains, even for an object name cut to fit', async (t) => {
  const subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
  for (const name of ['web', `${'a'.repeat(235)}-b-c`, `${'a'.repeat(234)}.-x.y`, `${'a'.repeat(253)}`]) {
    const e = eventName({ ref: { ...ref, name } }, 'uid\u0000rule\u0000id');
    t.ok(e.length <= 253 && subdomain.test(e), `${name.length} chars → ${e.slice(-30)}`);
  }
});
