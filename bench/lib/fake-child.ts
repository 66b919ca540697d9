// Child process: the fake apiserver holding a generated cluster (see cluster.ts). Replies to
// its parent over IPC: first { url, token, counts }, then { done } after each command.
import { FakeApiServer } from '../../test/fake-apiserver.ts';
import { clusterObjects, serviceObjects, type FakeChildOptions } from './cluster.ts';

const opts = JSON.parse(process.argv[2] ?? '{}') as FakeChildOptions;
// Bookmarks once a minute as a real apiserver; history large enough that no watch sees 410.
const fake = await FakeApiServer.start({ historyLimit: 20_000, bookmarkIntervalMs: 60_000 });
const all = clusterObjects(opts);
const isAppPod = (x: any) => x.kind === 'Pod' && x.metadata.namespace !== 'kube-system';
const isWorkload = (x: any) => !['Pod', 'Namespace', 'Service', 'IngressClass', 'NetworkPolicy'].includes(x.kind);
const pods = all.filter(isAppPod);
const workloads = all.filter(isWorkload);
const counts: Record<string, number> = {};
for (const x of all) counts[x.kind] = (counts[x.kind] ?? 0) + 1;
for (const x of all) if (!(opts.podsLater && isAppPod(x)) && !(opts.workloadsLater && isWorkload(x))) fake.apply(x);
let applied = opts.podsLater ? 0 : pods.length;
const services = [...serviceObjects(opts.services ?? 0, opts.namespaces)];
let servicesApplied = 0;

process.on('message', (m: any) => {
  if (m?.cmd === 'pods') {
    while (applied < Math.min(m.upTo, pods.length)) fake.apply(pods[applied++]);
    process.send!({ done: 'pods', applied });
  } else if (m?.cmd === 'services') {
    while (servicesApplied < Math.min(m.upTo, services.length)) fake.apply(services[servicesApplied++]);
    process.send!({ done: 'services', applied: servicesApplied });
  } else if (m?.cmd === 'workloads') {
    for (const w of workloads) fake.apply(w);
    process.send!({ done: 'workloads', applied: workloads.length });
  } else if (m?.cmd === 'exit') {
    void fake.close().finally(() => process.exit(0));
  }
});
process.on('disconnect', () => void fake.close().finally(() => process.exit(0)));
process.send!({ url: fake.url, token: fake.token, counts });
