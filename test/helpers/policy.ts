// Test helper: the bundled default policy with overrides merged in (rules per key, dns per key).
import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { DEFAULT_POLICY_FILE, parsePolicy } from '../../src/policies/policy-file.ts';
import type { Policy } from '../../src/policies/types.ts';

export function policyWith(overrides: Record<string, any> = {}): Policy {
  const base = parse(readFileSync(DEFAULT_POLICY_FILE, 'utf8'));
  const merged = { ...base, ...overrides, rules: { ...base.rules }, dns: { ...base.dns, ...(overrides.dns ?? {}) } };
  for (const [id, cfg] of Object.entries(overrides.rules ?? {})) merged.rules[id] = { ...(base.rules[id] ?? {}), ...(cfg as object) };
  return parsePolicy(stringify(merged), '<test policy>');
}
