// Findings point at the offending field: file:line of the key the finding's path names, in YAML
// documents, kind: List items and JSON alike; the deepest existing key when the field is absent.
import t from 'tap';
import { fieldLocator } from '../../src/bundle/field-lines.ts';
import { parseManifests } from '../../src/bundle/manifests.ts';
import { checkBundle } from '../../src/bundle/check-bundle.ts';
import { formatSarif } from '../../src/cli/output/sarif.ts';
import { reportContext, toReport } from '../../src/cli/output/build-report.ts';
import { loadPolicyFile } from '../../src/policies/policy-file.ts';
import { RULES } from '../../src/policies/registry.ts';

const lineOf = (text: string, needle: string, nth = 1): number => {
  let at = -1;
  for (let i = 0; i < nth; i++) at = text.indexOf(needle, at + 1);
  if (at < 0) throw new Error(`no ${needle}`);
  return text.slice(0, at).split('\n').length;
};

const POLICY = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-frontend
  namespace: shop
  annotations:
    kubernetes.io/description: "from the frontend"
spec:
  podSelector: {}
  ingress:
    - from:
        - podSelector: { matchLabels: { app: web } }
        - namespaceSelector:
            matchLabels: { name: frontend }
`;

t.test('a path finds its key: nested lists, flow maps, dotted keys', async (t) => {
  const text = `# leading comment\n---\n${POLICY}`;
  const [loaded] = parseManifests(text, 'np.yaml');
  const locate = loaded.locate!;
  t.equal(locate('spec.ingress[0].from[1].namespaceSelector')?.line, lineOf(text, 'namespaceSelector'));
  t.equal(locate('spec.ingress[0].from[0].podSelector')?.line, lineOf(text, 'podSelector', 2));
  t.equal(locate('metadata.annotations.kubernetes.io/description')?.line, lineOf(text, 'kubernetes.io/description'));
  t.equal(locate('spec.egress')?.line, lineOf(text, 'spec:'), 'an absent field: its deepest existing parent');
  t.equal(locate('spec.ingress[7]')?.line, lineOf(text, 'ingress:'), 'an index past the end: the list');
  t.equal(locate('spec.podSelector')?.column, 3, '1-based column of the key');
});

t.test('the second document of a file, a List item and a JSON object', async (t) => {
  const two = `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: a }\n---\n${POLICY}`;
  const docs = parseManifests(two, 'two.yaml');
  t.equal(docs[1].locate!('spec.ingress[0].from[1]')?.line, lineOf(two, '- namespaceSelector'));

  const list = `apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Service\n    metadata: { name: a }\n    spec: { selector: { app: a } }\n  - apiVersion: v1\n    kind: Service\n    metadata: { name: b }\n    spec:\n      type: NodePort\n      selector: { app: b }\n`;
  const items = parseManifests(list, 'list.yaml');
  t.equal(items[1].locate!('spec.type')?.line, lineOf(list, 'type: NodePort'));
  t.equal(items[0].locate!('spec.selector')?.line, lineOf(list, 'selector: { app: a }'));

  const json = JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'j' }, spec: { type: 'NodePort', selector: { app: 'j' } } }, null, 2);
  const [j] = parseManifests(json, 'svc.json');
  t.equal(j.locate!('spec.type')?.line, lineOf(json, '"type"'));
});

t.test('a locator reads nothing until asked, and never throws on text it cannot parse again', async (t) => {
  const locate = fieldLocator('a: [', 0, 4, 1, 0);
  t.equal(locate('a'), undefined);
});

t.test('netguard check and SARIF report the field line', async (t) => {
  const text = `apiVersion: v1\nkind: Service\nmetadata:\n  name: api\n  namespace: production\nspec:\n  selector: { app: api }\n  type: NodePort\n  ports: [{ port: 80 }]\n`;
  const loaded = parseManifests(text, 'svc.yaml');
  const policy = loadPolicyFile();
  const result = checkBundle(loaded, policy);
  const f = result.findings.find((x) => x.rule === 'nodeport-namespace-allowed')!;
  t.same(f.source, { file: 'svc.yaml', line: 8, column: 3 }, 'spec.type, not the top of the document');
  const report = toReport(result, { objects: loaded, problems: [], notes: [], files: ['svc.yaml'] } as any, 'default', undefined);
  const sarif = JSON.parse(formatSarif(report, reportContext(RULES, policy, process.cwd())));
  const region = sarif.runs[0].results.find((r: any) => r.ruleId === 'nodeport-namespace-allowed').locations[0].physicalLocation.region;
  t.same(region, { startLine: 8, startColumn: 3 });
});
