import t from 'tap';
import { readFileSync } from 'node:fs';
import { renderSchema, SCHEMA_FILE } from '../../scripts/write-schema.ts';

t.test('policies/policy.schema.json matches the rules (run `npm run schema` to refresh)', async (t) => {
  t.equal(readFileSync(SCHEMA_FILE, 'utf8'), renderSchema());
});
