import t from 'tap';
import { closest, editDistance, nearest } from '../../src/edit-distance.ts';
import { truncate } from '../../src/kube/text.ts';

t.test('edit distance counts an adjacent swap as one edit', async (t) => {
  const cases: [string, string, number][] = [
    ['nginx', 'nginx', 0], ['ngnix', 'nginx', 1], ['nignx', 'nginx', 1], ['ngin', 'nginx', 1],
    ['', 'abc', 3], ['abc', '', 3], ['kitten', 'sitting', 3], ['ca', 'abc', 3], ['fronted', 'frontend', 1],
  ];
  for (const [a, b, d] of cases) t.equal(editDistance(a, b), d, `${a} → ${b}`);
});

t.test('closest: typos yes, rewrites no', async (t) => {
  t.equal(closest('ngnix', ['traefik', 'nginx', 'haproxy']), 'nginx');
  t.equal(closest('NGINX', ['nginx']), 'nginx', 'case-insensitive');
  t.equal(closest('gce', ['nginx', 'traefik']), undefined);
  t.equal(closest('nginx', ['nginx']), undefined, 'an exact match is not a suggestion');
  t.equal(closest('app=fronted', ['app=frontend', 'app=backend']), 'app=frontend');
  t.equal(closest('abcd', ['abce', 'abcf']), 'abce', 'ties break by name');
});

t.test('nearest and truncate', async (t) => {
  t.same(nearest('app=web', ['app=db', 'app=wbe', 'tier=web', 'app=web2'], 2), ['app=wbe', 'app=web2']);
  t.equal(truncate('abcdef', 4), 'abc…');
  t.equal(truncate('abc', 4), 'abc');
});
