// Random mutations of the bundled policy: every result is either accepted or rejected with a
// POLICY_INVALID error whose every line names a key path (or a file:line for YAML that does not
// parse); never another exception. When a value was set at a path, an error names that path, a
// parent of it, or a key under it.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import t from 'tap';
import { parse, stringify } from 'yaml';
import { isNetguardError } from '../../src/errors.ts';
import { DEFAULT_POLICY_FILE, parsePolicy } from '../../src/policies/policy-file.ts';
import { garbage, weirdString } from './arbitraries.ts';
import { fuzzParams } from './settings.ts';

const baseText = readFileSync(DEFAULT_POLICY_FILE, 'utf8');
const base = parse(baseText);

type Path = (string | number)[];

function paths(value: unknown, prefix: Path = []): Path[] {
  const out: Path[] = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...prefix, i])));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...prefix, k]));
  return out;
}

/** Key paths that exist in a full policy: the bundled one plus every optional key of the schema we know of. */
const PATHS = paths(base).filter((p) => p.length > 0);

type Mutation = { op: 'set'; path: Path; value: unknown } | { op: 'delete'; path: Path } | { op: 'add'; path: Path; key: string; value: unknown };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('set' as const), path: fc.constantFrom(...PATHS), value: garbage }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), path: fc.constantFrom(...PATHS) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('add' as const),
      path: fc.constantFrom([], ...PATHS),
      key: fc.oneof(weirdString, fc.constantFrom('acton', 'failopen', 'staleAfterSeconds', 'allowIgnoreAnnotation', 'excludeNamespaces', 'rules')),
      value: garbage,
    }),
  },
);

function apply(doc: any, m: Mutation): any {
  const root = structuredClone(doc);
  if (m.op === 'set' || m.op === 'delete') {
    let node = root;
    for (const seg of m.path.slice(0, -1)) node = node?.[seg];
    if (node === null || typeof node !== 'object') return root;
    const last = m.path[m.path.length - 1];
    if (m.op === 'delete') {
      if (Array.isArray(node)) node.splice(Number(last), 1);
      else delete node[last];
    } else node[last] = m.value;
    return root;
  }
  let node = root;
  for (const seg of m.path) node = node?.[seg];
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return root;
  Object.defineProperty(node, m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
  return root;
}

/** "rules.x.action (file:12): must be one of ..." or "file:3: YAML does not parse: ..." */
const PATHED_LINE = /^(\(top level\)|[^\s[]+(?:\[".*?"\][^\s[]*)*|\[".*?"\][^\s[]*)( \(\S+:\d+\))?: \S/s;

function checkRejection(err: unknown, text: string): string[] {
  if (!isNetguardError(err, 'POLICY_INVALID')) throw new Error(`not a POLICY_INVALID error: ${(err as Error)?.stack ?? String(err)}\n--- policy ---\n${text.slice(0, 2000)}`);
  const errors = err.details.errors as string[] | undefined;
  if (errors === undefined) {
    // YAML that does not parse: "<file>:<line>: YAML does not parse: ..." (or another whole-file problem with a line)
    if (!/^<fuzz>(:\d+)?: /.test(err.message)) throw new Error(`a rejection without key path or line: ${err.message}`);
    return [];
  }
  if (errors.length === 0) throw new Error('rejected with no error lines');
  for (const line of errors) if (!PATHED_LINE.test(line)) throw new Error(`an error line without a key path: ${JSON.stringify(line)}`);
  return errors.map((l) => PATHED_LINE.exec(l)![1]);
}

t.test('random mutations of the default policy: accepted, or rejected naming the key path', async (t) => {
  const tally = { accepted: 0, rejected: 0 };
  fc.assert(
    fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (mutations) => {
      const doc = mutations.reduce(apply, base);
      let text: string;
      try {
        text = stringify(doc, { aliasDuplicateObjects: false });
      } catch {
        fc.pre(false); // the yaml library cannot write this document (too deep): nothing to load
        return;
      }
      let named: string[];
      try {
        parsePolicy(text, '<fuzz>');
        tally.accepted++;
        return;
      } catch (err) {
        named = checkRejection(err, text);
        tally.rejected++;
      }
      const last = mutations[mutations.length - 1];
      if (mutations.length === 1 && last.op === 'set' && named.length > 0) {
        const p = last.path.map((seg, i) => (/^[A-Za-z0-9_-]{1,64}$/.test(String(seg)) ? `${i === 0 ? '' : '.'}${seg}` : `[${JSON.stringify(seg)}]`)).join('');
        const under = (a: string, b: string) => a.startsWith(b) && (a[b.length] === '.' || a[b.length] === '[');
        const related = named.some((n) => n === '(top level)' || p === n || under(p, n) || under(n, p));
        if (!related) throw new Error(`set ${p}: the errors name ${named.join(', ')}, not ${p}`);
      }
    }),
    fuzzParams(300),
  );
  t.ok(tally.accepted > 0 && tally.rejected > 0, `${tally.accepted} accepted, ${tally.rejected} rejected`);
});

t.test('random edits of the policy text: accepted, or rejected with a line or a key path', async (t) => {
  const edit = fc.record({ at: fc.nat({ max: baseText.length }), cut: fc.nat({ max: 20 }), insert: fc.oneof(weirdString, fc.constantFrom(':', '- ', '  ', '\n', '&a ', '*a', '!!binary ', '{', '[', '"', "'", '#', '---\n', '\t')) });
  fc.assert(
    fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
      let text = baseText;
      for (const e of edits) text = text.slice(0, e.at) + e.insert + text.slice(e.at + e.cut);
      try {
        parsePolicy(text, '<fuzz>');
      } catch (err) {
        checkRejection(err, text);
      }
    }),
    fuzzParams(300),
  );
  t.pass('no crash');
});

t.test('hostile policy texts are rejected cleanly', async (t) => {
  const bomb = ['apiVersion: netguard.io/v1', 'kind: Policy', 'a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
  for (let i = 0; i < 8; i++) bomb.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`);
  const cases: [string, string, RegExp][] = [
    ['alias bomb', bomb.join('\n'), /alias/i],
    ['deep nesting', `apiVersion: netguard.io/v1\nkind: Policy\ndns: ${'['.repeat(20_000)}${']'.repeat(20_000)}`, /nested too deeply/],
    ['binary', '\u0000\u0001\u0002garbage', /./],
    ['a list', '- a\n- b\n', /top level/],
    ['a scalar', 'just text', /top level/],
    ['empty', '', /top level/],
    ['two documents', 'apiVersion: netguard.io/v1\nkind: Policy\n---\napiVersion: netguard.io/v1\nkind: Policy\n', /document/i],
    ['__proto__ key', 'apiVersion: netguard.io/v1\nkind: Policy\n__proto__: { failOpen: false }\n', /__proto__/],
    ['huge rule key', `apiVersion: netguard.io/v1\nkind: Policy\nrules:\n  ${'r'.repeat(100_000)}: { action: deny }\n`, /1024 chars/],
    ['huge quoted rule key', `apiVersion: netguard.io/v1\nkind: Policy\nrules: { "${'r'.repeat(100_000)}": { action: deny } }\n`, /rules\["r+…"\]/],
  ];
  for (const [name, text, expected] of cases) {
    let caught: unknown;
    try {
      parsePolicy(text, '<fuzz>');
    } catch (err) {
      caught = err;
    }
    t.ok(isNetguardError(caught, 'POLICY_INVALID'), `${name}: POLICY_INVALID (got ${(caught as Error)?.message?.slice(0, 200)})`);
    t.match((caught as Error)?.message ?? '', expected, `${name}: says why`);
    t.ok(((caught as Error)?.message ?? '').length <= 4096, `${name}: the message is bounded`);
  }
});
