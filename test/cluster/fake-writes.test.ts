// The fake apiserver's writes, read and watch of single objects, and RBAC, through ObjectClient:
// the answers the real apiserver gives and that writers decide on (AlreadyExists, Conflict,
// NotFound, Forbidden, Invalid), so tests of anything that writes can trust the fake.
import t from 'tap';
import { ObjectClient, isAlreadyExists, isConflict, isForbidden, isNotFound, type ResourceRef } from '../../src/client/object-client.ts';
import { ApiError } from '../../src/client/transport.ts';
import { eventually, FakeApiServer, type RbacRule } from '../fake-apiserver.ts';
import { applyJsonPatch, applyMergePatch, PatchError } from '../fake-apiserver/patch.ts';

const SECRETS: ResourceRef = { group: '', version: 'v1', resource: 'secrets', namespace: 'guard' };
const HOOKS: ResourceRef = { group: 'admissionregistration.k8s.io', version: 'v1', resource: 'validatingwebhookconfigurations' };

function secret(name: string, data: Record<string, string> = { a: Buffer.from('1').toString('base64') }, type = 'Opaque'): any {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'guard' }, type, data };
}

async function failure(p: Promise<unknown>): Promise<any> {
  return p.then(() => undefined, (err) => err);
}

async function setup(t: { teardown(fn: () => unknown): void }): Promise<{ fake: FakeApiServer; client: ObjectClient }> {
  const fake = await FakeApiServer.start();
  t.teardown(() => fake.close());
  return { fake, client: new ObjectClient(fake.kubeConfig(), { requestTimeoutMs: 5000 }) };
}

t.test('create, get, update with a resourceVersion precondition, delete', async (t) => {
  const { fake, client } = await setup(t);
  const created = await client.create(SECRETS, secret('one'));
  t.match(created, { kind: 'Secret', apiVersion: 'v1', metadata: { name: 'one', namespace: 'guard', uid: /^[0-9a-f-]{36}$/, resourceVersion: /^\d+$/ } });
  t.ok(created.metadata.creationTimestamp, 'server-set creationTimestamp');

  const dup = await failure(client.create(SECRETS, secret('one')));
  t.ok(isAlreadyExists(dup), '409 AlreadyExists');
  t.match(dup, { status: 409, reason: 'AlreadyExists', message: /secrets "one" already exists/ });
  t.notOk(isConflict(dup), 'AlreadyExists is not a Conflict');

  t.same((await client.get(SECRETS, 'one')).data, created.data);
  const missing = await failure(client.get(SECRETS, 'nope'));
  t.ok(isNotFound(missing));
  t.match(missing, { reason: 'NotFound', message: /secrets "nope" not found/ });

  const changed = { ...created, data: { a: Buffer.from('2').toString('base64') } };
  const updated = await client.update(SECRETS, 'one', changed);
  t.ok(Number(updated.metadata.resourceVersion) > Number(created.metadata.resourceVersion), 'a new resourceVersion');
  t.equal(updated.metadata.uid, created.metadata.uid, 'uid kept');

  const stale = await failure(client.update(SECRETS, 'one', { ...changed, data: { a: 'Mw==' } }));
  t.ok(isConflict(stale), 'the old resourceVersion is stale: 409 Conflict');
  t.match(stale, { reason: 'Conflict', message: /Operation cannot be fulfilled on secrets "one": the object has been modified/ });

  const same = await client.update(SECRETS, 'one', updated);
  t.equal(same.metadata.resourceVersion, updated.metadata.resourceVersion, 'an update that changes nothing keeps the resourceVersion');

  const unconditional = await client.update(SECRETS, 'one', { ...secret('one'), data: { a: 'NA==' } });
  t.equal(unconditional.data.a, 'NA==', 'without a resourceVersion the update is unconditional');

  t.match(await failure(client.update(SECRETS, 'other', secret('one'))), { status: 400, message: /does not match the name on the URL/ });
  t.match(await failure(client.update(SECRETS, 'absent', secret('absent'))), { status: 404 }, 'no create on update for Secrets');

  t.match(await failure(client.delete(SECRETS, 'one', { uid: 'not-the-uid' })), { status: 409, message: /Precondition failed: UID/ });
  t.match(await client.delete(SECRETS, 'one', { uid: created.metadata.uid }), { kind: 'Status', status: 'Success', details: { name: 'one', kind: 'secrets' } });
  t.equal(fake.get('Secret', 'guard', 'one'), undefined, 'gone');
  t.ok(isNotFound(await failure(client.delete(SECRETS, 'one'))));
});

t.test('create: the checks the apiserver makes', async (t) => {
  const { client } = await setup(t);
  t.match(await failure(client.create(SECRETS, { ...secret('x'), metadata: { name: 'x', namespace: 'elsewhere' } })), { status: 400, message: /namespace of the provided object does not match/ });
  t.match(await failure(client.create(SECRETS, { ...secret('x'), metadata: { namespace: 'guard' } })), { status: 422, reason: 'Invalid', message: /name or generateName is required/ });
  t.match(await failure(client.create(SECRETS, { ...secret('x'), metadata: { name: 'x', resourceVersion: '5' } })), { status: 500, message: /resourceVersion should not be set/ });
  t.match(await failure(client.create(SECRETS, { kind: 'ConfigMap', metadata: { name: 'x' } })), { status: 400 });
  const generated = await client.create(SECRETS, { ...secret('x'), metadata: { generateName: 'report-' } });
  t.match(generated.metadata.name, /^report-[0-9a-f]{5}$/, 'generateName');
  t.match(await failure(client.create(SECRETS, secret('tls', { 'tls.crt': 'eA==' }, 'kubernetes.io/tls'))), { status: 422, message: /data\[tls\.key\]: Required value/ });
  const tls = await client.create(SECRETS, secret('tls', { 'tls.crt': 'eA==', 'tls.key': 'eQ==' }, 'kubernetes.io/tls'));
  t.match(await failure(client.update(SECRETS, 'tls', { ...tls, type: 'Opaque' })), { status: 422, message: /type: Invalid value: "Opaque": field is immutable/ });
});

t.test('patch: merge and JSON patch, resourceVersion as a precondition, 422 for a failed test', async (t) => {
  const { client, fake } = await setup(t);
  fake.apply({
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: 'hook', labels: { a: '1' } },
    webhooks: [{ name: 'a.example.io', clientConfig: { service: { name: 's', namespace: 'guard' } } }, { name: 'b.example.io', clientConfig: {} }],
  });
  const merged = await client.patch(HOOKS, 'hook', 'merge', { metadata: { labels: { a: null, b: '2' } } });
  t.same(merged.metadata.labels, { b: '2' }, 'merge patch: null deletes, keys merge');
  const rv = merged.metadata.resourceVersion;

  const patched = await client.patch(HOOKS, 'hook', 'json', [
    { op: 'replace', path: '/metadata/resourceVersion', value: rv },
    { op: 'add', path: '/webhooks/1/clientConfig/caBundle', value: 'Q0E=' },
  ]);
  t.equal(patched.webhooks[1].clientConfig.caBundle, 'Q0E=');
  t.notOk(patched.webhooks[0].clientConfig.caBundle, 'only the path named');

  const stale = await failure(client.patch(HOOKS, 'hook', 'json', [{ op: 'replace', path: '/metadata/resourceVersion', value: rv }, { op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: 'eA==' }]));
  t.ok(isConflict(stale), 'a stale resourceVersion in a JSON patch: 409 Conflict');
  const staleMerge = await failure(client.patch(HOOKS, 'hook', 'merge', { metadata: { resourceVersion: rv, labels: { c: '3' } } }));
  t.ok(isConflict(staleMerge), 'and in a merge patch');
  t.match(await failure(client.patch(HOOKS, 'hook', 'json', [{ op: 'test', path: '/webhooks/0/name', value: 'wrong' }])), { status: 422, reason: 'Invalid', message: /testing value/ });
  t.match(await failure(client.patch(HOOKS, 'hook', 'json', [{ op: 'add', path: '/webhooks/7/clientConfig/caBundle', value: 'x' }])), { status: 422 }, 'a path that is not there');
  t.ok(isNotFound(await failure(client.patch(HOOKS, 'absent', 'merge', {}))));
  t.equal(fake.get('ValidatingWebhookConfiguration', undefined, 'hook').webhooks[0].clientConfig.caBundle, undefined, 'failed patches changed nothing');
});

t.test('patch helpers follow RFC 7386 and RFC 6902', async (t) => {
  t.same(applyMergePatch({ a: { b: 1, c: [1] }, d: 1 }, { a: { c: [2], e: null }, d: null, f: 'x' }), { a: { b: 1, c: [2] }, f: 'x' });
  t.same(applyJsonPatch({ a: [1, 2], b: { c: 1 } }, [
    { op: 'add', path: '/a/-', value: 3 },
    { op: 'move', from: '/b/c', path: '/d' },
    { op: 'copy', from: '/d', path: '/e~1f' },
    { op: 'remove', path: '/a/0' },
    { op: 'test', path: '/a', value: [2, 3] },
  ]), { a: [2, 3], b: {}, d: 1, 'e/f': 1 });
  t.throws(() => applyJsonPatch({ a: 1 }, [{ op: 'replace', path: '/b', value: 1 }]), /path "\/b" does not exist/, 'replace needs the path to exist');
  t.ok((() => { try { applyJsonPatch({}, [{ op: 'test', path: '/x', value: 1 }]); } catch (e) { return e instanceof PatchError; } })(), 'a PatchError (422)');
});

t.test('watch of one object by fieldSelector; other fields are refused', async (t) => {
  const { client, fake } = await setup(t);
  await client.create(SECRETS, secret('watched'));
  await client.create(SECRETS, secret('other'));
  const events: string[] = [];
  const ac = new AbortController();
  t.teardown(() => ac.abort());
  const done = client.watchOne(SECRETS, 'watched', undefined, ac.signal, 5000, (ev) => events.push(`${ev.type} ${ev.object.metadata.name}`)).catch(() => undefined);
  await eventually(() => events.length === 1, 'the synthetic ADDED');
  await client.update(SECRETS, 'other', { ...secret('other'), data: { a: 'Yg==' } });
  await client.update(SECRETS, 'watched', { ...secret('watched'), data: { a: 'Yg==' } });
  fake.delete('Secret', 'guard', 'watched');
  await eventually(() => events.length === 3, 'the modification and the deletion');
  t.same(events, ['ADDED watched', 'MODIFIED watched', 'DELETED watched'], 'nothing about the other Secret');
  ac.abort();
  await done;
  const raw = await fetch(`${fake.url}/api/v1/namespaces/guard/secrets?fieldSelector=spec.x%3D1`, { headers: { Authorization: `Bearer ${fake.token}` } });
  t.equal(raw.status, 400);
  t.match(await raw.json(), { reason: 'BadRequest', message: 'field label not supported: spec.x' });
});

t.test('RBAC: per verb, resource, namespace and name, with the apiserver\'s 403 message', async (t) => {
  const { client, fake } = await setup(t);
  fake.apply(secret('mine'));
  fake.apply(secret('theirs'));
  const rules: RbacRule[] = [
    { verbs: ['get', 'update', 'watch'], apiGroups: [''], resources: ['secrets'], resourceNames: ['mine'], namespace: 'guard' },
    { verbs: ['create'], apiGroups: [''], resources: ['secrets'], resourceNames: ['mine'], namespace: 'guard' }, // never matches: creates carry no name
    { verbs: ['get', 'patch'], apiGroups: ['admissionregistration.k8s.io'], resources: ['validatingwebhookconfigurations'], resourceNames: ['hook'] },
  ];
  fake.setRbac(rules, 'system:serviceaccount:guard:netguard');

  t.ok(await client.get(SECRETS, 'mine'), 'get of the named Secret');
  const other = await failure(client.get(SECRETS, 'theirs'));
  t.ok(isForbidden(other));
  t.match(other, {
    status: 403, reason: 'Forbidden',
    message: /secrets "theirs" is forbidden: User "system:serviceaccount:guard:netguard" cannot get resource "secrets" in API group "" in the namespace "guard"/,
  });
  const create = await failure(client.create(SECRETS, secret('mine2')));
  t.match(create, { status: 403, message: /secrets is forbidden: User .* cannot create resource "secrets"/ }, 'resourceNames cannot grant create');
  const list = await fetch(`${fake.url}/api/v1/namespaces/guard/secrets`, { headers: { Authorization: `Bearer ${fake.token}` } });
  t.equal(list.status, 403, 'a list without a name is not covered by resourceNames');
  t.match(await list.json(), { kind: 'Status', reason: 'Forbidden', details: { kind: 'secrets' }, code: 403 });

  const ac = new AbortController();
  const seen: string[] = [];
  const watching = client.watchOne(SECRETS, 'mine', undefined, ac.signal, 5000, (ev) => seen.push(ev.type)).catch((e) => e);
  await eventually(() => seen.length === 1, 'a watch narrowed to the name is authorized as that name');
  ac.abort();
  await watching;
  t.match(await failure(client.watchOne(SECRETS, 'theirs', undefined, new AbortController().signal, 1000, () => {})), { status: 403, message: /secrets "theirs" is forbidden: .* cannot watch resource "secrets"/ });
  t.match(await failure(client.patch(HOOKS, 'other-hook', 'merge', {})), { status: 403, message: /validatingwebhookconfigurations\.admissionregistration\.k8s\.io "other-hook" is forbidden: .* cannot patch resource "validatingwebhookconfigurations" in API group "admissionregistration\.k8s\.io" at the cluster scope/ });
  t.match(await failure(client.update(SECRETS, 'theirs', secret('theirs'))), { status: 403, message: /cannot update/ });

  fake.setRbac([...rules, { verbs: ['create'], apiGroups: [''], resources: ['secrets'], namespace: 'guard' }]);
  t.ok(await client.create(SECRETS, secret('mine2')), 'a create rule without names allows it');
  t.match(await failure(client.create({ ...SECRETS, namespace: 'elsewhere' }, { ...secret('x'), metadata: { name: 'x' } })), { status: 403 }, 'a Role grants in its namespace only');
  fake.setRbac(undefined);
  t.ok(await client.get(SECRETS, 'theirs'), 'RBAC off again');
  t.ok(fake.requests.some((r) => r.verb === 'watch' && r.name === 'mine' && r.status === 200), 'the request log records verb and name');
});

t.test('injected failures can target one verb', async (t) => {
  const { client, fake } = await setup(t);
  fake.apply(secret('s'));
  fake.fail({ status: 503, only: 'update', times: 1 });
  t.ok(await client.get(SECRETS, 's'), 'gets are not affected');
  t.match(await failure(client.update(SECRETS, 's', secret('s'))), { status: 503, type: 'server' });
  t.ok(await client.update(SECRETS, 's', secret('s')), 'used up');
  t.ok(new ApiError('client', 'x') instanceof Error);
});
