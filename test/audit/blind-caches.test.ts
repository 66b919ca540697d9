// The audit never claims something does not exist on the strength of a cache that could not see
// it: a family RBAC forbids, one not synced, one whose watch is behind (stale) all make unknowns,
// published as such (metric, reports) but never as an Event. Once the cache sees again, the
// violation is published (after a grace period: nothing says since when it held), and the Event
// writer hears of it.
import t from 'tap';
import { Auditor, type Transitions } from '../../src/audit/auditor.ts';
import type { FamilyState } from '../../src/informer/informer-view.ts';
import type { ResourceFamily } from '../../src/view/view.ts';
import { policyWith } from '../helpers/policy.ts';
import { eventually } from '../fake-apiserver.ts';
import * as o from '../fake-apiserver/objects.ts';
import { liveCaches, old } from './helpers.ts';

t.test('forbidden, unsynced or stale pods: unknown, never "matches no pod"; a violation once they are seen', async (t) => {
  let pods: FamilyState = { synced: false, reason: 'list pods forbidden by RBAC' };
  const live = liveCaches((family: ResourceFamily) => (family === 'pods' || family === 'workloads' ? pods : { synced: true, lastSyncAt: Date.now() }));
  const policy = policyWith({ staleAfterSeconds: 60, auditGraceSeconds: 0.2 });
  const auditor = new Auditor({ view: live.view, subjects: live.subjects, changes: live.feed, policy: () => policy, tuning: { debounceMs: 10, sliceMs: 5, sweepPauseMs: 0, fullSweepMs: 0 } });
  const seen: Transitions[] = [];
  auditor.subscribe((tr) => seen.push(tr));
  live.put(o.namespace('shop'));
  live.put(old(o.service('shop', 'web', { selector: { app: 'web' }, ports: [{ port: 80 }] })));
  auditor.start();
  t.teardown(() => auditor.stop());
  await auditor.ready();
  const verdicts = () => auditor.findings({ pending: true }).map((f) => `${f.verdict} ${f.messageId}`);
  t.same(auditor.findings({ pending: true }).filter((f) => f.verdict === 'violation'), [], 'forbidden: no violation');
  t.ok(verdicts().every((v) => v.startsWith('unknown')) && verdicts().length > 0, `forbidden: unknown (${verdicts()})`);

  // Synced, but the watch has been down for ten minutes: stale.
  const now = Date.now();
  pods = { synced: true, lastSyncAt: now - 600_000, behindSince: now - 600_000 };
  auditor.policyChanged();
  await auditor.idle();
  const stale = auditor.findings({ pending: true });
  t.same(stale.map((f) => f.verdict), ['unknown'], 'stale: unknown');
  t.match(stale[0].message, /cluster cache stale/, 'saying why');

  // Live again: the Service really selects nothing.
  pods = { synced: true, lastSyncAt: Date.now() };
  seen.length = 0;
  auditor.policyChanged();
  await auditor.idle();
  t.same(verdicts(), ['violation no-match']);
  // Nothing says since when it was true (the cache was blind): it waits out a grace period, then
  // is announced, so the Event writer hears of it.
  const appeared = () => seen.flatMap((tr) => tr.appeared.map((a) => a.finding.finding.verdict));
  await eventually(() => appeared().length > 0, 'the violation published');
  t.same(appeared(), ['violation']);
  t.same(auditor.findings().map((f) => f.verdict), ['violation']);
});
