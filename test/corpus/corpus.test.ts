// netguard check over a corpus of real public manifests kept outside the repository (third-party
// files): `npm run test:corpus [DIR]` runs this file with NETGUARD_CORPUS=DIR, default
// ../shared/corpus. A missing corpus fails, never skips to green. Each top-level folder is one
// project and is checked as its own bundle, as
// its CI would: one merged bundle would let one project's Deployments satisfy another's
// Services. The check must never crash: exit 0 or 1 with valid JSON, or, for files kubectl
// itself rejects, exit 2 naming each file and line.
import t, { type Test } from 'tap';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { REPO, runCli, type CliResult } from '../cli/run-cli.ts';

const CORPUS = process.env.NETGUARD_CORPUS ?? '../shared/corpus';
const CORPUS_ABS = resolve(REPO, CORPUS);

// Verbatim upstream files that are not valid manifests: `selector` appears twice in the
// Deployment spec (kubectl fails with "mapping key already defined"). Listed so a new exit 2
// anywhere else fails this test.
const KNOWN_INVALID: Record<string, string[]> = {
  'kubernetes-examples': [
    '_archived__openshift-origin__etcd-controller.yaml:12: YAML does not parse: duplicate key "selector" (first defined at line 6)',
    '_archived__openshift-origin__etcd-discovery-controller.yaml:12: YAML does not parse: duplicate key "selector" (first defined at line 6)',
    '_archived__openshift-origin__openshift-controller.yaml:12: YAML does not parse: duplicate key "selector" (first defined at line 8)',
  ],
};

const STACK = /^\s+at .+:\d+:\d+\)?$/m;

if (!existsSync(CORPUS_ABS)) {
  t.fail(`no corpus at ${CORPUS_ABS}: pass its folder (npm run test:corpus -- DIR)`);
} else {
  const folders = readdirSync(CORPUS_ABS, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();

  function assertReport(t: Test, r: CliResult, what: string): { objects: number } {
    t.ok(r.code === 0 || r.code === 1, `${what}: exit 0 or 1 (got ${r.code})`, { stderr: r.stderr.slice(0, 2000) });
    t.notMatch(r.stderr, STACK, `${what}: no stack trace`);
    let report: any;
    t.doesNotThrow(() => (report = JSON.parse(r.stdout)), `${what}: stdout is JSON`);
    t.same(report?.failures, [], `${what}: no rule threw`);
    t.ok(report?.summary?.objects > 0, `${what}: objects were checked`);
    t.equal(r.code, report?.summary?.deny > 0 ? 1 : 0, `${what}: exit code agrees with the deny count`);
    return report?.summary ?? { objects: 0 };
  }

  /** Every manifest file of a folder except the known-invalid ones, as -f arguments. */
  function validFileArgs(folder: string): string[] {
    const bad = new Set((KNOWN_INVALID[folder] ?? []).map((l) => l.split(':')[0]));
    return readdirSync(join(CORPUS_ABS, folder))
      .filter((f) => /\.(ya?ml|json)$/.test(f) && !bad.has(f))
      .flatMap((f) => ['-f', join(CORPUS, folder, f)]);
  }

  let objects = 0;
  for (const folder of folders) {
    t.test(folder, async (t) => {
      const r = await runCli(['check', '-f', join(CORPUS, folder), '-o', 'json']);
      const invalid = KNOWN_INVALID[folder];
      if (!invalid) {
        objects += assertReport(t, r, folder).objects;
        return;
      }
      t.equal(r.code, 2, 'files kubectl rejects make the check exit 2');
      t.equal(r.stdout, '', 'and print no report');
      t.notMatch(r.stderr, STACK);
      t.same(
        r.stderr.trimEnd().split('\n'),
        [...invalid.map((l) => `error: ${join(CORPUS, folder, l)}`), `netguard check: ${invalid.length} input problems; nothing was checked`],
        'each invalid file is named once, with its line and the duplicate key',
      );
      objects += assertReport(t, await runCli(['check', ...validFileArgs(folder), '-o', 'json']), `${folder} without the invalid files`).objects;
    });
  }

  // kube-prometheus' Services and NetworkPolicies select the pods prometheus-operator makes from its
  // Prometheus and Alertmanager objects: with the shipped customPodSources none of them dangles.
  if (folders.includes('kube-prometheus')) {
    t.test('kube-prometheus: no selector finding about the pods its operator makes', async (t) => {
      const r = await runCli(['check', '-f', join(CORPUS, 'kube-prometheus'), '-o', 'json']);
      const report = JSON.parse(r.stdout);
      const selectorFindings = report.findings.filter((f: any) => f.rule === 'service-selector-has-match' || f.rule === 'networkpolicy-selector-has-match');
      t.same(selectorFindings.map((f: any) => `${f.object.kind}/${f.object.name}: ${f.message}`), []);
    });
  }

  t.test('the whole corpus at once', async (t) => {
    const r = await runCli(['check', '-f', CORPUS, '-o', 'json']);
    const invalidCount = Object.values(KNOWN_INVALID).flat().length;
    t.equal(r.code, 2);
    t.match(r.stderr, new RegExp(`${invalidCount} input problems; nothing was checked`));

    const all = await runCli(['check', ...folders.flatMap(validFileArgs), '-o', 'json']);
    const summary = assertReport(t, all, 'whole corpus without the invalid files');
    t.equal(summary.objects, objects, 'one bundle or one per project, every object is counted once');
  });
}
