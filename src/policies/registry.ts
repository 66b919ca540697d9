// The explicit, sorted list of rules. Adding a rule touches: the rule (rules/<id>.ts or
// rules/<id>/), one line here, docs/rules/<id>.md, test/fixtures/<id>/, its test
// (test/policies/rules/<id>.test.ts) and its line in policies/default.yaml;
// test/house/rule-contract.test.ts fails until each is there.
import { rule as backendExists } from './rules/backend-exists/rule.ts';
import { rule as egressAllowsDns } from './rules/egress-allows-dns/rule.ts';
import { rule as gatewayClassExists } from './rules/gateway-class-exists.ts';
import { rule as ingressClassExists } from './rules/ingress-class-exists.ts';
import { rule as networkpolicySelectorHasMatch } from './rules/networkpolicy-selector-has-match.ts';
import { rule as nodeportNamespaceAllowed } from './rules/nodeport-namespace-allowed.ts';
import { rule as routeParentExists } from './rules/route-parent-exists/rule.ts';
import { rule as serviceSelectorHasMatch } from './rules/service-selector-has-match.ts';
import type { Rule } from './types.ts';

export const RULES: readonly Rule<any>[] = [
  backendExists,
  egressAllowsDns,
  gatewayClassExists,
  ingressClassExists,
  networkpolicySelectorHasMatch,
  nodeportNamespaceAllowed,
  routeParentExists,
  serviceSelectorHasMatch,
];
