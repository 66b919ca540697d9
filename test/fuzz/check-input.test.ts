// `netguard check` input files: random, broken and hostile texts through the loader in-process
// (property test), and the worst kinds through the real CLI. The loader never throws anything but
// its own errors, every problem names the file (and the line when there is one), and the CLI then
// exits 2 with "nothing was checked" and no report on stdout: never a partial report as complete.
import { closeSync, openSync, ftruncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import t from 'tap';
import { stringify } from 'yaml';
import { addText, type LoadResult } from '../../src/bundle/load.ts';
import { MAX_MANIFEST_BYTES, decodeText } from '../../src/bundle/manifests.ts';
import { isNetguardError } from '../../src/errors.ts';
import { runCli } from '../cli/run-cli.ts';
import { garbage, kubeObject, weirdString } from './arbitraries.ts';
import { fuzzParams } from './settings.ts';

const LABEL = 'bundle/app.yaml';

/** A multi-document YAML (or JSON) text of random objects, then broken in random ways. */
const manifestText = fc
  .record({
    docs: fc.array(fc.oneof({ weight: 6, arbitrary: kubeObject }, { weight: 1, arbitrary: garbage }), { minLength: 1, maxLength: 4 }),
    json: fc.boolean(),
    edits: fc.array(
      fc.record({
        at: fc.nat(),
        cut: fc.nat({ max: 12 }),
        insert: fc.oneof(
          weirdString,
          fc.constantFrom('---\n', '...\n', ': ', '- ', '&a ', '*a', '*nope', '!!binary ', '!!js/function ', '{', '}', '[', ']', '"', "'", '\t', '\n  ', '? ', '%YAML 1.1\n', '<<: *a\n', '{{ .Values.x }}'),
        ),
      }),
      { maxLength: 3 },
    ),
  })
  .map(({ docs, json, edits }) => {
    let text: string;
    try {
      text = json ? docs.map((d) => JSON.stringify(d) ?? 'null').join('\n---\n') : docs.map((d) => stringify(d, { aliasDuplicateObjects: false })).join('---\n');
    } catch {
      text = String(docs); // the yaml library could not write it (too deep): still something to load
    }
    for (const e of edits) {
      const at = e.at % (text.length + 1);
      text = text.slice(0, at) + e.insert + text.slice(at + e.cut);
    }
    return text;
  });

function emptyResult(): LoadResult {
  return { objects: [], problems: [], notes: [], files: [] };
}

t.test('the loader on random and broken manifests: its own errors only, each naming the file and line', async (t) => {
  const tally = { clean: 0, problems: 0, objects: 0 };
  fc.assert(
    fc.property(manifestText, (text) => {
      const result = emptyResult();
      addText(result, text, LABEL); // throws only on a bug: addText rethrows what is not a NetguardError
      for (const p of result.problems) {
        if (!isNetguardError(p)) throw new Error(`a problem that is not a NetguardError: ${String(p)}`);
        if (!p.message.startsWith(`${LABEL}:`)) throw new Error(`a problem that does not start with the file: ${p.message}`);
        if (!/^bundle\/app\.yaml:\d+: /.test(p.message) && !/^bundle\/app\.yaml: cannot be read: /.test(p.message)) {
          throw new Error(`a problem without a line: ${p.message}`);
        }
        if (p.message.length > 2000) throw new Error(`an unbounded message (${p.message.length} characters)`);
      }
      for (const o of result.objects) {
        if (o.object === null || typeof o.object !== 'object' || Array.isArray(o.object)) throw new Error('a loaded object that is not a map');
        if (o.source.file !== LABEL || !Number.isInteger(o.source.line) || o.source.line < 1) throw new Error(`bad source ${JSON.stringify(o.source)}`);
      }
      if (result.problems.length > 0) tally.problems++;
      else tally.clean++;
      tally.objects += result.objects.length;
    }),
    fuzzParams(300),
  );
  t.ok(tally.clean > 0 && tally.problems > 0, `${tally.clean} clean texts (${tally.objects} objects), ${tally.problems} with problems`);
});

t.test('random bytes: UTF-8 text or a "not a text file" error with its line', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), fc.nat({ max: 5 }), (bytes, newlines) => {
      const buf = Buffer.concat([Buffer.from('apiVersion: v1\n'.repeat(newlines)), Buffer.from(bytes)]);
      let text: string;
      try {
        text = decodeText(buf, LABEL);
      } catch (err) {
        if (!isNetguardError(err, 'MANIFEST_PARSE') || !/^bundle\/app\.yaml:\d+: not a text file \(/.test(err.message)) throw err;
        const line = Number(/:(\d+):/.exec(err.message)![1]);
        if (line < 1 || line > buf.toString('latin1').split('\n').length) throw new Error(`line ${line} is not in the file`);
        return;
      }
      addText(emptyResult(), text, LABEL);
    }),
    fuzzParams(300),
  );
  t.pass('no crash');
});

function bomb(levels: number): string {
  const lines = ['apiVersion: v1', 'kind: ConfigMap', 'metadata: { name: lol }', 'data:', '  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i <= levels; i++) {
    const prev = String.fromCharCode(96 + i);
    const name = String.fromCharCode(97 + i);
    lines.push(`  ${name}: &${name} [${Array(10).fill(`*${prev}`).join(',')}]`);
  }
  return `${lines.join('\n')}\n`;
}

t.test('netguard check on hostile files: exit 2, file and line, nothing presented as checked', async (t) => {
  const dir = t.testdir({
    'ok.yaml': 'apiVersion: v1\nkind: Service\nmetadata: { name: web, namespace: shop }\nspec: { selector: { app: web }, ports: [{ port: 80 }] }\n',
  });
  const write = (name: string, content: string | Buffer) => {
    writeFileSync(join(dir, name), content);
    return join(dir, name);
  };
  const enormous = join(dir, 'enormous.yaml');
  const fd = openSync(enormous, 'w');
  ftruncateSync(fd, MAX_MANIFEST_BYTES + 1); // sparse: 32 MiB + 1 of NULs, rejected by size before reading
  closeSync(fd);

  const cases: [string, string, RegExp][] = [
    ['malformed YAML', write('malformed.yaml', 'apiVersion: v1\nkind: Service\nmetadata:\n  name: [web\n  namespace: shop\n'), /malformed\.yaml:\d+: YAML does not parse/],
    ['billion laughs', write('bomb.yaml', bomb(9)), /bomb\.yaml:1: YAML aliases expand to too many nodes \(at most 1000 alias expansions per document\)/],
    ['binary', write('binary.yaml', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d])), /binary\.yaml:3: not a text file \(contains NUL bytes/],
    ['Latin-1 text', write('latin1.yaml', Buffer.concat([Buffer.from('apiVersion: v1\nkind: ConfigMap\nmetadata: { name: caf'), Buffer.from([0xe9]), Buffer.from(' }\n')])), /latin1\.yaml:3: not a text file \(not UTF-8/],
    ['enormous', enormous, /enormous\.yaml: more than 32 MiB, over the limit of 32 MiB per input file/],
    ['a scalar document', write('scalar.yaml', 'apiVersion: v1\nkind: Service\n---\njust a string\n'), /scalar\.yaml:4: a document must be a Kubernetes object \(a map\), not string/],
    ['a list document', write('list.yaml', '- apiVersion: v1\n  kind: Service\n'), /list\.yaml:1: a document must be a Kubernetes object \(a map\), not a list/],
    ['a List with a scalar item', write('items.yaml', 'apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Service\n    metadata: { name: a }\n  - 42\n'), /items\.yaml:7: items\[1\] of this List must be a Kubernetes object \(a map\), not number/],
    ['deep nesting', write('deep.yaml', `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: deep }\ndata: ${'['.repeat(50_000)}${']'.repeat(50_000)}\n`), /deep\.yaml:\d+: YAML does not parse: nested too deeply/],
    ['deep JSON', write('deep.json', `{"apiVersion":"v1","kind":"ConfigMap","data":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}`), /deep\.json:\d+: YAML does not parse: nested too deeply/],
  ];
  for (const [name, file, message] of cases) {
    const r = await runCli(['check', '-f', join(dir, 'ok.yaml'), '-f', file, '-o', 'json']);
    t.equal(r.code, 2, `${name}: exit 2`);
    t.match(r.stderr, message, `${name}: says which file and line, and why`);
    t.match(r.stderr, /nothing was checked/, `${name}: says nothing was checked`);
    t.equal(r.stdout, '', `${name}: no report on stdout`);
    t.ok(r.stderr.length < 4096, `${name}: a short error (${r.stderr.length} bytes)`);
  }

  // A device never ends: refused unread, like any file that is not a regular one (test/cli/special-files.test.ts).
  const zero = await runCli(['check', '-f', '/dev/zero']);
  t.equal(zero.code, 2, '/dev/zero: exit 2');
  t.match(zero.stderr, /\/dev\/zero: a character device, not a regular file/);
});

t.test('the alias cap lets ordinary anchors through', async (t) => {
  const result = emptyResult();
  const text = ['apiVersion: apps/v1', 'kind: Deployment', 'metadata: { name: web, labels: &l { app: web } }', 'spec:', '  selector: { matchLabels: *l }', '  template: { metadata: { labels: *l }, spec: { containers: [] } }'].join('\n');
  addText(result, text, LABEL);
  t.same(result.problems, []);
  t.same((result.objects[0].object.spec as any).template.metadata.labels, { app: 'web' });
});
