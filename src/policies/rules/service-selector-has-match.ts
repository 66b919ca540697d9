// PLACEHOLDER: being written; replaced before this lands.
import type { Rule } from '../types.ts';

export const rule: Rule = {
  id: 'service-selector-has-match',
  description: 'TODO',
  kinds: [],
  operations: ['CREATE', 'UPDATE'],
  defaults: { action: 'warn' },
  configSchema: {},
  evaluate() {
    return [];
  },
};
