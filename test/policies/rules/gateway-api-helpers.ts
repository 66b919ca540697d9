// Builders and a review helper shared by the tests of backend-exists, route-parent-exists and
// gateway-class-exists.
import { evaluate, type ReviewInput } from '../../../src/policies/engine.ts';
import type { KubeObject } from '../../../src/policies/types.ts';
import type { ClusterView } from '../../../src/view/view.ts';
import { policyWith } from '../../helpers/policy.ts';

export const GATEWAY_RULES = ['backend-exists', 'route-parent-exists', 'gateway-class-exists'];
const GW = 'gateway.networking.k8s.io/v1';

export const service = (name: string, ports: any[] = [{ name: 'http', port: 80 }], ns = 'shop'): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { ports } });
export const gateway = (listeners: any[], className = 'eg'): KubeObject => ({ apiVersion: GW, kind: 'Gateway', metadata: { name: 'gw', namespace: 'infra' }, spec: { gatewayClassName: className, listeners } });
export const gatewayClass = (name: string): KubeObject => ({ apiVersion: GW, kind: 'GatewayClass', metadata: { name }, spec: { controllerName: 'example.com/gateway' } });
export const route = (name: string, spec: any, ns = 'shop', kind = 'HTTPRoute'): KubeObject => ({ apiVersion: GW, kind, metadata: { name, namespace: ns }, spec });
/** An HTTPRoute attached to infra/gw, sending traffic to Service shop/web:80. */
export const toWeb = (name: string) => route(name, { parentRefs: [{ name: 'gw', namespace: 'infra' }], rules: [{ backendRefs: [{ name: 'web', port: 80 }] }] });

/** The findings of the three Gateway API rules, with the default policy and these rule overrides. */
export function review(input: ReviewInput, view: ClusterView, rules: Record<string, unknown> = {}) {
  const ev = evaluate(input, view, policyWith({ rules }));
  return { failures: ev.failures, findings: ev.findings.filter((f) => GATEWAY_RULES.includes(f.rule)) };
}
