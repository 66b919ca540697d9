import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { expandPaths, loadManifestFiles, parseManifests, readManifestFile } from '../../src/bundle/manifests.ts';

t.test('multi-document YAML keeps each object line; empty documents are skipped', async (t) => {
  const objs = parseManifests('---\napiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\n---\n# c\napiVersion: v1\nkind: Pod\nmetadata: {name: b}\n', 'x.yaml');
  t.same(objs.map((o) => [o.object.kind, o.source.line]), [['Service', 2], ['Pod', 8]]);
});

t.test('kind: List expands, each item with its own line', async (t) => {
  const objs = parseManifests('apiVersion: v1\nkind: List\nitems:\n- kind: Service\n  metadata: {name: a}\n- kind: Pod\n  metadata: {name: b}\n', 'l.yaml');
  t.same(objs.map((o) => [o.object.kind, o.source.line]), [['Service', 4], ['Pod', 6]]);
});

t.test('JSON input', async (t) => {
  const objs = parseManifests('{"kind":"Service","metadata":{"name":"a"}}', 'a.json');
  t.equal(objs[0].object.kind, 'Service');
});

t.test('bad input fails with file and line', async (t) => {
  t.throws(() => parseManifests('kind: Service\nmetadata:\n  name: [a\n', 'bad.yaml'), { code: 'MANIFEST_PARSE', message: /bad\.yaml:\d+: YAML does not parse/ });
  t.throws(() => parseManifests('- a\n- b\n', 'list.yaml'), { code: 'MANIFEST_PARSE', message: /list\.yaml:1: .*not a list/ });
  t.throws(() => parseManifests('just a string\n', 's.yaml'), { code: 'MANIFEST_PARSE', message: /not string/ });
  t.throws(() => parseManifests('a\u0000b', 'bin.yaml'), { code: 'MANIFEST_PARSE', message: /NUL/ });
});

t.test('alias expansion is capped (billion laughs)', async (t) => {
  let doc = 'a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]\n';
  for (let i = 1; i < 10; i++) doc += `a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(',')}]\n`;
  t.throws(() => parseManifests(doc, 'bomb.yaml'), { code: 'MANIFEST_PARSE', message: /bomb\.yaml/ });
});

t.test('unreadable paths', async (t) => {
  t.throws(() => loadManifestFiles(['/nonexistent/x.yaml']), { code: 'MANIFEST_UNREADABLE', message: /ENOENT/ });
});

t.test('stdin via -', async (t) => {
  const objs = loadManifestFiles(['-'], () => 'kind: Pod\nmetadata: {name: p}\n');
  t.same(objs[0].source, { file: '<stdin>', line: 1 });
});

t.test('a file is read whole, whatever its size against the read buffer', async (t) => {
  const dir = t.testdir({});
  // Empty, one byte, around the old 1 MiB chunk, and several MiB: each must come back byte for byte.
  for (const size of [0, 1, 4095, 4096, 1024 * 1024 - 1, 1024 * 1024, 1024 * 1024 + 1, 5 * 1024 * 1024 + 17]) {
    const text = 'a: b\n'.repeat(Math.ceil(size / 5)).slice(0, size);
    const file = join(dir, `f-${size}.yaml`);
    writeFileSync(file, text);
    t.equal(readManifestFile(file), text, `${size} bytes`);
  }
});

t.test('non-regular files: refused when named, skipped with a reason when found in a directory', async (t) => {
  const dir = t.testdir({ 'a.yaml': 'kind: Pod\nmetadata: {name: p}\n', sub: {} });
  const fifo = join(dir, 'sub', 'pipe.yaml');
  execFileSync('mkfifo', [fifo]);
  // Opening a FIFO with no writer blocks forever; this test would hang, not fail, without the check.
  t.throws(() => readManifestFile(fifo), { code: 'MANIFEST_UNREADABLE', message: /pipe\.yaml: a FIFO \(named pipe\), not a regular file; .*-f -/ });
  t.throws(() => readManifestFile('/dev/null'), { code: 'MANIFEST_UNREADABLE', message: /\/dev\/null: a character device, not a regular file/ });
  const skipped: [string, string][] = [];
  t.same(expandPaths([dir], (file, reason) => skipped.push([file, reason])), [join(dir, 'a.yaml')]);
  t.same(skipped, [[fifo, 'a FIFO (named pipe), not a regular file: not read']]);
  t.same(expandPaths([fifo], () => t.fail('named on the command line: not skipped')), [fifo], 'named directly: kept, for the reader to refuse');
});
