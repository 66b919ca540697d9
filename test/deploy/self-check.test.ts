// netguard's own manifests pass netguard's own rules, run the way CI runs `netguard check`.
// netguard-system carries netguard.io/ignore, so that pass alone proves little: the strict run
// evaluates a copy without the label, and the broken copy shows the strict run can fail.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { parseDocument } from 'yaml';
import { runCli } from '../cli/run-cli.ts';
import { MANIFESTS, REPO } from './load.ts';

function check(args: string[]) {
  return runCli(['check', ...args], { cwd: REPO });
}

/** A copy of manifests/base whose namespace lacks netguard.io/ignore: netguard-system is evaluated. */
function strictManifests(): string {
  const dir = mkdtempSync(join(tmpdir(), 'netguard-manifests-'));
  cpSync(join(MANIFESTS, 'base'), dir, { recursive: true });
  const file = join(dir, 'namespace.yaml');
  const doc = parseDocument(readFileSync(file, 'utf8'));
  if (!doc.hasIn(['metadata', 'labels', 'netguard.io/ignore'])) throw new Error('namespace.yaml no longer has the ignore label');
  doc.deleteIn(['metadata', 'labels', 'netguard.io/ignore']);
  writeFileSync(file, doc.toString());
  return dir;
}

t.test('netguard check -f manifests/ exits 0 with the default policy', async (t) => {
  const r = await check(['-f', 'manifests/']);
  t.equal(r.code, 0, r.stdout + r.stderr);
});

t.test('with netguard-system evaluated too: no findings at all, warnings included', async (t) => {
  const r = await check(['-f', strictManifests(), '-o', 'json']);
  t.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  t.same(report.findings, [], 'no deny, warn or unknown finding');
  t.same(report.failures, [], 'no rule failed');
  t.ok(report.summary.objects >= 11, `the objects were read (${report.summary.objects})`);
});

t.test('the strict run catches a NetworkPolicy that drops the DNS rule (so the pass above means something)', async (t) => {
  const dir = strictManifests();
  const file = join(dir, 'networkpolicy.yaml');
  const doc = parseDocument(readFileSync(file, 'utf8'));
  doc.setIn(['spec', 'egress'], doc.toJS().spec.egress.slice(0, 1)); // keep only the apiserver rule
  writeFileSync(file, doc.toString());
  const r = await check(['-f', dir, '-o', 'json']);
  t.equal(r.code, 1, r.stderr);
  t.ok(JSON.parse(r.stdout).findings.some((f: any) => f.rule === 'egress-allows-dns' && f.object.name === 'netguard'), 'egress-allows-dns denies it');
});
