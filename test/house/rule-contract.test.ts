// The rule contract: what every rule in src/policies/registry.ts must come with, in the spirit of
// ESLint (meta, a docs page, message ids) and kube-linter (a fixture per check). Adding a rule
// means: the rule, one registry line, docs/rules/<id>.md, test/fixtures/<id>/,
// test/policies/rules/<id>.test.ts, and its line in policies/default.yaml. Each failure below says
// exactly what is missing and where, so a new rule's author can follow the messages alone.
//
// The docs page has a fixed shape (docs/rules/service-selector-has-match.md is a full example):
//   # <id>                                  then one paragraph: the trap
//   Reviews: <Kinds> on <OPERATIONS> · default action: <action>
//   ## What is checked
//   ## Examples      ### Fails / ### Passes: yaml blocks netguard really fails / passes; after each
//                    failing one, a text block with `$ netguard check -f FILE` and its exact output.
//                    A yaml block holding a netguard Policy configures the next example.
//   ## Messages      table: | `messageId` | violation, unknown or advice | what to do |
//   ## Parameters    table: | `key` | `default` (YAML) or none | meaning |
//   ## Why the default
//   ## Sources       links
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { parse, parseAllDocuments } from 'yaml';
import { ENGINE_MESSAGES } from '../../src/policies/engine.ts';
import { DEFAULT_POLICY_FILE, loadPolicyFile, parsePolicy } from '../../src/policies/policy-file.ts';
import { RULES } from '../../src/policies/registry.ts';
import { operationsOf, reviewsDeletes, type Policy, type Rule } from '../../src/policies/types.ts';
import { commandFile, examplesOf, findSection, parsePage, runExample, tableRows, unquote, type Page } from './rule-docs.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const DOCS = join(REPO, 'docs/rules');
const WEBHOOK_FILE = 'manifests/base/validatingwebhookconfiguration.yaml';
const MINIMAL_POLICY = 'apiVersion: netguard.io/v1\nkind: Policy\n';

const SECTIONS = ['## What is checked', '## Examples', '## Messages', '## Parameters', '## Why the default', '## Sources'];
const VERDICTS = new Set(['violation', 'unknown', 'advice']);
const KEBAB = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/**
 * Kind → the API group and resource the webhook configuration names it by. A rule for a kind
 * missing here fails below: add the kind (its group and plural resource) to this table.
 */
const KIND_RESOURCES: Record<string, { group: string; resource: string }> = {
  Namespace: { group: '', resource: 'namespaces' },
  Pod: { group: '', resource: 'pods' },
  ReplicationController: { group: '', resource: 'replicationcontrollers' },
  Deployment: { group: 'apps', resource: 'deployments' },
  ReplicaSet: { group: 'apps', resource: 'replicasets' },
  StatefulSet: { group: 'apps', resource: 'statefulsets' },
  DaemonSet: { group: 'apps', resource: 'daemonsets' },
  Job: { group: 'batch', resource: 'jobs' },
  CronJob: { group: 'batch', resource: 'cronjobs' },
  Service: { group: '', resource: 'services' },
  Ingress: { group: 'networking.k8s.io', resource: 'ingresses' },
  IngressClass: { group: 'networking.k8s.io', resource: 'ingressclasses' },
  NetworkPolicy: { group: 'networking.k8s.io', resource: 'networkpolicies' },
  GatewayClass: { group: 'gateway.networking.k8s.io', resource: 'gatewayclasses' },
  Gateway: { group: 'gateway.networking.k8s.io', resource: 'gateways' },
  ListenerSet: { group: 'gateway.networking.k8s.io', resource: 'listenersets' },
  HTTPRoute: { group: 'gateway.networking.k8s.io', resource: 'httproutes' },
  GRPCRoute: { group: 'gateway.networking.k8s.io', resource: 'grpcroutes' },
  TLSRoute: { group: 'gateway.networking.k8s.io', resource: 'tlsroutes' },
  TCPRoute: { group: 'gateway.networking.k8s.io', resource: 'tcproutes' },
  UDPRoute: { group: 'gateway.networking.k8s.io', resource: 'udproutes' },
  ReferenceGrant: { group: 'gateway.networking.k8s.io', resource: 'referencegrants' },
};

const minimalPolicy = parsePolicy(MINIMAL_POLICY, 'a minimal policy');
let bundledPolicy: Policy | undefined;
const defaultPolicy = (): Policy => (bundledPolicy ??= loadPolicyFile(DEFAULT_POLICY_FILE));

function docsFile(id: string): string {
  return join(DOCS, `${id}.md`);
}

/** "docs/rules/x.md:12" */
function at(id: string, line?: number): string {
  return `docs/rules/${id}.md${line ? `:${line}` : ''}`;
}

/** The Reviews line a page must carry, from the rule and the bundled default policy. */
function reviewsLine(rule: Rule<any>): string {
  // Kinds reviewed on the same operations are named together: "Ingress, HTTPRoute on CREATE, UPDATE; Service on UPDATE, DELETE".
  const groups = new Map<string, string[]>();
  for (const kind of rule.kinds) {
    const ops = operationsOf(rule, kind).join(', ');
    groups.set(ops, [...(groups.get(ops) ?? []), kind]);
  }
  const reviews = [...groups].map(([ops, kinds]) => `${kinds.join(', ')} on ${ops}`).join('; ');
  return `Reviews: ${reviews} · default action: ${minimalPolicy.rules[rule.id]?.action}`;
}

/** The keys a Parameters table must list: the common ones, denyOnDelete for DELETE rules, the rule's own. */
function parameterKeys(rule: Rule<any>): string[] {
  return [
    'action',
    'excludeNamespaces',
    'allowIgnoreAnnotation',
    ...(reviewsDeletes(rule) ? ['denyOnDelete'] : []),
    ...Object.keys(rule.configSchema),
  ];
}

/** messageId → the verdicts its fail fixtures expect (default violation). */
function fixtureVerdicts(id: string): Map<string, Set<string>> {
  const verdicts = new Map<string, Set<string>>();
  const dir = join(REPO, 'test/fixtures', id);
  if (!existsSync(dir)) return verdicts;
  for (const file of readdirSync(dir).filter((f) => f.startsWith('fail-'))) {
    const header = parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((d) => d.toJS()).find((d) => d?.kind === 'NetguardFixture');
    for (const e of header?.expect ?? []) {
      if (!verdicts.has(e.messageId)) verdicts.set(e.messageId, new Set());
      verdicts.get(e.messageId)!.add(e.verdict ?? 'violation');
    }
  }
  return verdicts;
}

t.test('the registry: kebab-case ids, unique, sorted by id', async (t) => {
  const ids = RULES.map((r) => r.id);
  for (const id of ids) t.match(id, KEBAB, `rule id "${id}" is kebab-case (lower-case words joined by -)`);
  const dupes = ids.filter((id, i) => ids.indexOf(id) !== i);
  t.same(dupes, [], 'src/policies/registry.ts lists each rule once');
  const sorted = [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  t.same(ids, sorted, `src/policies/registry.ts lists the rules sorted by id: put them in this order: ${sorted.join(', ')}`);
});

t.test('every rule names the reason of its audit Events and its apply-order messages', async (t) => {
  const reasons = new Map<string, string>();
  for (const rule of RULES) {
    const reason = rule.meta.eventReason;
    t.match(reason ?? '', /^[A-Z][A-Za-z0-9]{2,60}$/, `${rule.id}: meta.eventReason is a CamelCase Event reason (what kubectl get events --field-selector reason=... filters on)`);
    if (reason && reasons.has(reason)) t.fail(`${rule.id} and ${reasons.get(reason)} share the Event reason ${reason}: each rule needs its own`);
    if (reason) reasons.set(reason, rule.id);
    for (const id of rule.meta.applyOrder ?? []) t.ok(id in rule.meta.messages, `${rule.id}: meta.applyOrder names ${id}, one of its meta.messages`);
  }
});

t.test('policies/default.yaml is the defaults, written out', async (t) => {
  const raw = parse(readFileSync(DEFAULT_POLICY_FILE, 'utf8'));
  for (const rule of RULES) {
    t.ok(raw?.rules && Object.hasOwn(raw.rules, rule.id), `policies/default.yaml names ${rule.id} under rules: (add "${rule.id}: { action: ${rule.defaults.action} }", then run node test/deploy/sync-policy.ts and npm run schema)`);
  }
  // One source of truth: a key the file sets must equal what netguard uses when a policy leaves it out.
  const strip = ({ hash: _h, source: _s, ...rest }: Policy) => rest;
  const fromFile = strip(defaultPolicy());
  const fromNothing = strip(minimalPolicy);
  for (const key of ['failOpen', 'staleAfterSeconds', 'excludeNamespaces', 'dns', 'auditGraceSeconds', 'audit'] as const) {
    t.strictSame(fromFile[key], fromNothing[key], `policies/default.yaml ${key} equals the built-in default (src/policies/policy-file.ts)`);
  }
  for (const rule of RULES) {
    t.strictSame(fromFile.rules[rule.id], fromNothing.rules[rule.id], `policies/default.yaml rules.${rule.id} equals the rule's defaults (its \`defaults\` in src/policies/rules/)`);
  }
  t.strictSame(fromFile, fromNothing, 'parsing policies/default.yaml gives exactly the config a minimal policy (apiVersion and kind only) gets');
});

t.test('every docs page belongs to a registered rule', async (t) => {
  const ids = new Set(RULES.map((r) => r.id));
  const pages = existsSync(DOCS) ? readdirSync(DOCS) : [];
  for (const page of pages) {
    t.ok(page.endsWith('.md') && ids.has(page.slice(0, -3)), `docs/rules/${page} is the page of a rule in src/policies/registry.ts (rename it to <rule-id>.md, or delete it with its rule)`);
  }
});

t.test('README.md links every rule page', async (t) => {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  for (const rule of RULES) t.ok(readme.includes(`](docs/rules/${rule.id}.md)`), `README.md "## Rules" table links docs/rules/${rule.id}.md`);
});

for (const rule of RULES) {
  t.test(rule.id, async (t) => {
    t.test('files that come with a rule', async (t) => {
      const fixtures = join(REPO, 'test/fixtures', rule.id);
      const names = existsSync(fixtures) ? readdirSync(fixtures) : [];
      t.ok(names.some((n) => /^pass-.*\.ya?ml$/.test(n)), `test/fixtures/${rule.id}/ has a pass-*.yaml fixture (see test/helpers/fixtures.ts for the format)`);
      t.ok(names.some((n) => /^fail-.*\.ya?ml$/.test(n)), `test/fixtures/${rule.id}/ has a fail-*.yaml fixture`);
      t.ok(existsSync(join(REPO, 'test/policies/rules', `${rule.id}.test.ts`)), `test/policies/rules/${rule.id}.test.ts exists`);
      t.ok(existsSync(docsFile(rule.id)), `docs/rules/${rule.id}.md exists (copy the shape of docs/rules/service-selector-has-match.md)`);
    });
    if (!existsSync(docsFile(rule.id))) return;
    const text = readFileSync(docsFile(rule.id), 'utf8');
    const page = parsePage(text);
    checkHead(t, rule, text, page);
    checkExamples(t, rule, page);
    checkMessages(t, rule, page);
    checkParameters(t, rule, page);
  });
}

function checkHead(t: Test, rule: Rule<any>, text: string, page: Page): void {
  t.test('title, trap, Reviews line and sections', async (t) => {
    const lines = text.split('\n');
    t.equal(lines[0], `# ${rule.id}`, `${at(rule.id, 1)} is "# ${rule.id}"`);
    const title = page.sections[0];
    const reviewsAt = title ? title.lines.findIndex((l) => l.startsWith('Reviews:')) : -1;
    const trap = title ? title.lines.slice(0, Math.max(reviewsAt, 0)).join(' ').trim() : '';
    t.ok(trap.length >= 80, `${at(rule.id)}: a paragraph under the title tells the trap (what goes wrong in a cluster, how it looks when debugging)`);
    t.equal(reviewsAt >= 0 ? title.lines[reviewsAt] : '(no Reviews: line)', reviewsLine(rule), `${at(rule.id)}: the Reviews line after the trap states the kinds, operations and default action`);

    const level2 = page.sections.filter((s) => s.level === 2).map((s) => `## ${s.title}`);
    t.same(level2, SECTIONS, `${at(rule.id)} has exactly these sections, in this order: ${SECTIONS.join(', ')}`);
    const examples = findSection(page, '## Examples');
    const sub = examples?.nested.filter((s) => s.level === 3).map((s) => s.title) ?? [];
    t.same(sub, ['Fails', 'Passes'], `${at(rule.id)}: "## Examples" has "### Fails" then "### Passes"`);
    for (const heading of ['## Why the default', '## What is checked']) {
      const s = findSection(page, heading);
      t.ok(s && s.section.lines.join('').trim().length > 0, `${at(rule.id, s?.section.line)}: "${heading}" is not empty`);
    }
    const sources = findSection(page, '## Sources');
    t.ok(sources?.section.lines.some((l) => /\]\(https?:\/\//.test(l)), `${at(rule.id, sources?.section.line)}: "## Sources" links where the semantics come from (Kubernetes docs, kubernetes/kubernetes files)`);
  });
}

function checkExamples(t: Test, rule: Rule<any>, page: Page): void {
  t.test('examples fail and pass as they say', async (t) => {
    for (const kind of ['Fails', 'Passes'] as const) {
      const found = findSection(page, `### ${kind}`);
      const examples = found ? examplesOf([found.section, ...found.nested]) : [];
      t.ok(examples.length > 0, `${at(rule.id, found?.section.line)}: "### ${kind}" has at least one \`\`\`yaml example`);
      for (const ex of examples) {
        const where = at(rule.id, ex.manifests.line);
        const file = commandFile(ex.output) ?? 'example.yaml';
        const run = runExample(ex, file, defaultPolicy);
        t.same(run.problems, [], `${where}: the example loads and every rule runs on it`);
        const mine = run.findings.filter((f) => f.rule === rule.id);
        if (kind === 'Passes') {
          t.same(mine.map((f) => f.message), [], `${where}: this passing example gets no ${rule.id} finding`);
          continue;
        }
        t.ok(mine.length > 0, `${where}: this failing example gets a ${rule.id} finding`);
        if (!ex.output) {
          t.fail(`${where}: after the failing example, a \`\`\`text block shows \`$ netguard check -f FILE\` and what it prints`);
          continue;
        }
        const [command, ...printed] = ex.output.text.replace(/\n$/, '').split('\n');
        t.match(command, /^\$ netguard check .*-f \S+/, `${at(rule.id, ex.output.line)}: the output block starts with the command, "$ netguard check ... -f FILE"`);
        // The exact text, so a reworded message cannot leave its docs behind.
        t.equal(printed.join('\n') + '\n', run.text, `${at(rule.id, ex.output.line)}: the output shown is what netguard prints today; replace the lines after the command with:\n${run.text}`);
      }
    }
  });
}

function checkMessages(t: Test, rule: Rule<any>, page: Page): void {
  t.test('Messages table', async (t) => {
    const found = findSection(page, '## Messages');
    const rows = found ? tableRows(found.section.lines) : [];
    const where = at(rule.id, found?.section.line);
    const byId = new Map(rows.map((r) => [unquote(r[0] ?? ''), r]));
    const fromFixtures = fixtureVerdicts(rule.id);
    for (const id of Object.keys(rule.meta.messages)) {
      const row = byId.get(id);
      if (!row) {
        t.fail(`${where}: the Messages table has a row | \`${id}\` | violation, unknown or advice | what to do | (meta.messages: ${rule.meta.messages[id]})`);
        continue;
      }
      const verdict = (row[1] ?? '').trim();
      t.ok(VERDICTS.has(verdict), `${where}: ${id}'s verdict is violation, unknown or advice (got "${verdict}")`);
      t.ok((row[2] ?? '').trim().length > 0, `${where}: ${id}'s row says what to do`);
      const expected = fromFixtures.get(id);
      if (expected && VERDICTS.has(verdict)) {
        const as = verdict === 'unknown' ? 'unknown' : 'violation';
        t.ok(expected.has(as), `${where}: ${id} is documented as ${verdict}, but test/fixtures/${rule.id}/ expects it as ${[...expected].join(' or ')}`);
      }
    }
    for (const id of byId.keys()) {
      t.ok(id in rule.meta.messages || id in ENGINE_MESSAGES, `${where}: "${id}" in the Messages table is one of ${rule.id}'s meta.messages (remove the row, or add the message id)`);
    }
  });
}

function checkParameters(t: Test, rule: Rule<any>, page: Page): void {
  t.test('Parameters table', async (t) => {
    const found = findSection(page, '## Parameters');
    const rows = found ? tableRows(found.section.lines) : [];
    const where = at(rule.id, found?.section.line);
    const byKey = new Map(rows.map((r) => [unquote(r[0] ?? ''), r]));
    const effective = minimalPolicy.rules[rule.id] ?? {};
    for (const key of parameterKeys(rule)) {
      const row = byKey.get(key);
      const value = (effective as Record<string, unknown>)[key];
      const shown = value === undefined ? 'none' : `\`${JSON.stringify(value)}\``;
      if (!row) {
        t.fail(`${where}: the Parameters table has a row | \`${key}\` | ${shown} | meaning |`);
        continue;
      }
      t.strictSame(readDefault(row[1] ?? ''), value, `${where}: the default of ${key} is ${shown} (rule defaults and policies/default.yaml), and the table says so`);
      t.ok((row[2] ?? '').trim().length > 0, `${where}: ${key}'s row says what it means`);
    }
    const known = new Set(parameterKeys(rule));
    for (const key of byKey.keys()) t.ok(known.has(key), `${where}: "${key}" in the Parameters table is a key of rules.${rule.id} (policy schema)`);
  });
}

/** A Parameters default cell: `YAML` (parsed), or "none" when the key has no default. */
function readDefault(cell: string): unknown {
  const text = cell.trim();
  if (/^none\b/i.test(text)) return undefined;
  const code = /^`([^`]+)`$/.exec(text);
  if (!code) return `(not a \`YAML\` value or "none": ${text})`;
  try {
    return parse(code[1]);
  } catch (err) {
    return `(YAML that does not parse: ${(err as Error).message.split('\n')[0]})`;
  }
}

t.test('the webhook configuration asks for exactly what the rules review', async (t) => {
  const config = parse(readFileSync(join(REPO, WEBHOOK_FILE), 'utf8'));
  const key = (group: string, resource: string, op: string) => `${group === '' ? 'core' : group}/${resource} ${op}`;
  const needed = new Map<string, string[]>(); // "group/resource OP" → rules
  for (const rule of RULES) {
    for (const kind of rule.kinds) {
      const gr = KIND_RESOURCES[kind];
      if (!gr) {
        t.fail(`${rule.id} reviews kind ${kind}, which test/house/rule-contract.test.ts KIND_RESOURCES does not know: add ${kind}: { group, resource } there`);
        continue;
      }
      for (const op of operationsOf(rule, kind)) needed.set(key(gr.group, gr.resource, op), [...(needed.get(key(gr.group, gr.resource, op)) ?? []), rule.id]);
    }
  }
  const asked = new Set<string>();
  for (const hook of config?.webhooks ?? []) {
    for (const r of hook.rules ?? []) {
      for (const field of ['apiGroups', 'resources', 'operations'] as const) {
        t.notOk((r[field] ?? []).includes('*'), `${WEBHOOK_FILE}: webhook ${hook.name} lists ${field} one by one, no "*" (every request must be one a rule judges)`);
      }
      for (const g of r.apiGroups ?? []) for (const res of r.resources ?? []) for (const op of r.operations ?? []) asked.add(key(g, res, op));
    }
  }
  for (const [k, rules] of needed) {
    t.ok(asked.has(k), `${WEBHOOK_FILE} sends ${k} to netguard (${rules.join(', ')} ${rules.length === 1 ? 'reviews' : 'review'} it): add it to a webhook rule`);
  }
  for (const k of asked) {
    t.ok(needed.has(k), `${WEBHOOK_FILE} asks for ${k}, which no rule reviews: remove it (each request costs the apiserver a call to netguard)`);
  }
});

