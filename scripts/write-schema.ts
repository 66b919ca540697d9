// Writes policies/policy.schema.json from the rules' own parameter schemas, for editors
// (yaml-language-server: $schema=...). A test fails when the shipped file is out of date.
import { writeFileSync } from 'node:fs';
import { buildPolicySchema } from '../src/policies/policy-schema.ts';
import { RULES } from '../src/policies/registry.ts';

export const SCHEMA_FILE = new URL('../policies/policy.schema.json', import.meta.url);
export const renderSchema = (): string => `${JSON.stringify(buildPolicySchema(RULES), null, 2)}\n`;

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(SCHEMA_FILE, renderSchema());
  console.log(`wrote ${SCHEMA_FILE.pathname}`);
}
