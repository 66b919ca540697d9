// PLACEHOLDER: being written; replaced before this lands.
import type { Rule } from '../types.ts';

export const rule: Rule = {
  id: 'nodeport-namespace-allowed',
  description: 'TODO',
  kinds: [],
  operations: ['CREATE', 'UPDATE'],
  defaults: { action: 'warn' },
  configSchema: {},
  evaluate() {
    return [];
  },
};
