// Cluster snapshots are read item by item in the layouts kubectl prints (-o yaml: "- " items at
// column 0; -o json: 4-space indentation), so their size is bounded by the slim objects, not by
// the text. Other layouts fall back to the ordinary loader.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { stringify } from 'yaml';
import { readSnapshotFile } from '../../src/bundle/snapshot-stream.ts';
import { loadClusterState } from '../../src/bundle/cluster-state.ts';
import * as o from '../fake-apiserver/objects.ts';

function cluster(pods: number): any[] {
  const out: any[] = [o.namespace('shop', { team: 'a' }), o.ingressClass('nginx', 'k8s.io/ingress-nginx', true)];
  for (let i = 0; i < pods; i++) out.push(o.pod('shop', `web-${i}`, { app: 'web', 'pod-template-hash': 'abc' }, { owner: { kind: 'ReplicaSet', name: 'web-abc' } }));
  out.push(o.networkPolicy('shop', 'deny', { podSelector: {}, policyTypes: ['Egress'] }));
  return out;
}

/** kubectl get -o yaml: a List whose items start at column 0. */
function kubectlYaml(items: any[]): string {
  const body = stringify({ items }, { indentSeq: false });
  return `apiVersion: v1\n${body}kind: List\nmetadata:\n  resourceVersion: ""\n`;
}

t.test('kubectl -o yaml and -o json layouts are streamed, item by item, and slimmed', async (t) => {
  const dir = t.testdir({});
  const items = cluster(300);
  writeFileSync(join(dir, 'c.yaml'), kubectlYaml(items));
  writeFileSync(join(dir, 'c.json'), JSON.stringify({ apiVersion: 'v1', items, kind: 'List', metadata: { resourceVersion: '' } }, null, 4));
  for (const file of ['c.yaml', 'c.json']) {
    const r = await readSnapshotFile(join(dir, file));
    t.ok(r.streamed, `${file}: streamed`);
    t.equal(r.objects.length, items.length, `${file}: every item, and the List itself is not an object`);
    const pod = r.objects.find((x) => x.kind === 'Pod')!;
    t.same(Object.keys(pod.metadata!).sort(), ['labels', 'name', 'namespace', 'ownerReferences'], `${file}: managedFields and annotations dropped`);
    t.notOk('status' in pod, `${file}: pod status dropped`);
    const ns = r.objects.find((x) => x.kind === 'Namespace')!;
    t.same((ns as any).status, { phase: 'Active' }, `${file}: a namespace keeps its phase (Terminating matters)`);
    const ic = r.objects.find((x) => x.kind === 'IngressClass')!;
    t.same(ic.metadata!.annotations, { 'ingressclass.kubernetes.io/is-default-class': 'true' }, `${file}: the default-class annotation is kept`);
  }
});

t.test('other layouts: an indented sequence, several documents, minified JSON', async (t) => {
  const dir = t.testdir({});
  const items = cluster(3);
  writeFileSync(join(dir, 'indented.yaml'), stringify({ apiVersion: 'v1', kind: 'List', items }));
  writeFileSync(join(dir, 'docs.yaml'), items.map((i) => stringify(i)).join('---\n'));
  writeFileSync(join(dir, 'min.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
  for (const file of ['indented.yaml', 'docs.yaml', 'min.json']) {
    const r = await readSnapshotFile(join(dir, file));
    t.same(r.objects.map((x) => x.metadata?.name), items.map((i) => i.metadata.name), `${file}: every object`);
  }
});

t.test('a broken item names its line; a folder of snapshots is read whole', async (t) => {
  const dir = t.testdir({ snap: {} });
  const text = kubectlYaml(cluster(2)).replace('kind: Pod', 'kind: [Pod');
  writeFileSync(join(dir, 'bad.yaml'), text);
  const bad = await loadClusterState([join(dir, 'bad.yaml')]);
  t.equal(bad.state, undefined, 'no partial state');
  t.match(bad.problems[0].message, /bad\.yaml:\d+: YAML does not parse \(an item of the List\)/);
  writeFileSync(join(dir, 'snap', 'a.yaml'), kubectlYaml(cluster(2)));
  writeFileSync(join(dir, 'snap', 'b.json'), JSON.stringify({ apiVersion: 'v1', items: cluster(1), kind: 'List' }, null, 4));
  const folder = await loadClusterState([join(dir, 'snap')]);
  t.equal(folder.state?.objects.length, 5 + 4);
});
