// Every rule's fixtures, discovered from test/fixtures/<rule-id>/. Each case asserts the
// exact findings of its rule: every expected finding appears once, and nothing else. And every
// message a rule can report is shown by at least one fixture: a new message id without a case
// fails here.
import t from 'tap';
import { ENGINE_MESSAGES } from '../../src/policies/engine.ts';
import { RULES } from '../../src/policies/registry.ts';
import { findingMatches, fixtureFiles, runFixture } from '../helpers/fixtures.ts';

for (const rule of RULES) {
  t.test(rule.id, async (t) => {
    const files = fixtureFiles(rule.id);
    t.ok(files.some((f) => f.includes('/pass-')), `${rule.id} has at least one pass-*.yaml fixture`);
    t.ok(files.some((f) => f.includes('/fail-')), `${rule.id} has at least one fail-*.yaml fixture`);
    const shown = new Set<string>();
    for (const file of files) {
      const c = runFixture(file, rule.id);
      const name = file.slice(file.lastIndexOf('/') + 1);
      t.test(`${name}: ${c.description}`, async (t) => {
        if (c.kind === 'pass') t.same(c.expect, [], 'a pass fixture expects no findings');
        else t.ok(c.expect.length > 0, 'a fail fixture expects at least one finding');
        const unmatched = [...c.actual];
        for (const exp of c.expect) {
          t.ok(exp.messageId in rule.meta.messages || exp.messageId in ENGINE_MESSAGES, `${exp.messageId} is one of ${rule.id}'s message ids`);
          shown.add(exp.messageId);
          const i = unmatched.findIndex((a) => findingMatches(a, exp));
          t.ok(i >= 0, `expected finding ${exp.messageId} on ${exp.object}`, { expected: exp, actual: c.actual });
          if (i >= 0) unmatched.splice(i, 1);
        }
        t.same(unmatched.map((f) => `${f.object.kind}/${f.object.name} ${f.messageId}: ${f.message}`), [], 'no unexpected findings');
      });
    }
    t.test('every message id has a fixture', async (t) => {
      const missing = Object.keys(rule.meta.messages).filter((id) => !shown.has(id));
      t.same(missing, [], `message ids of ${rule.id} that no fail fixture shows`);
    });
  });
}
