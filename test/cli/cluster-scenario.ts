// One running cluster, used two ways: as a snapshot file (what `kubectl get ... -A -o yaml`
// prints) and served live by the fake apiserver, so --cluster-state and --kubeconfig are held
// to the same expectations.
import { stringify } from 'yaml';
import * as o from '../fake-apiserver/objects.ts';

export function clusterObjects(): any[] {
  return [
    o.namespace('default'),
    o.namespace('kube-system'),
    o.namespace('shop', { team: 'shop' }),
    o.namespace('legacy'),
    o.pod('kube-system', 'coredns-5d78c9869d-x2x7q', { 'k8s-app': 'kube-dns', 'pod-template-hash': '5d78c9869d' }, {
      owner: { kind: 'ReplicaSet', name: 'coredns-5d78c9869d' },
      ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }, { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' }],
    }),
    o.ingressClass('nginx', 'k8s.io/ingress-nginx', true),
    o.workload('Deployment', 'shop', 'web', { app: 'web' }),
    o.pod('shop', 'web-7d4b9c5f8-abcde', { app: 'web', 'pod-template-hash': '7d4b9c5f8' }, { owner: { kind: 'ReplicaSet', name: 'web-7d4b9c5f8' } }),
    o.pod('legacy', 'batch-0', { app: 'batch' }),
    // Already running and already wrong: egress locked down without DNS. CI must not report it:
    // it is not part of the change under review.
    o.networkPolicy('legacy', 'deny-all-egress', { podSelector: {}, policyTypes: ['Egress'] }),
  ];
}

/** The snapshot as kubectl prints it: a List with an empty resourceVersion. */
export function snapshotYaml(objects = clusterObjects()): string {
  return stringify({ apiVersion: 'v1', items: objects, kind: 'List', metadata: { resourceVersion: '' } });
}

/** The application's manifests: all fine against the cluster above, all dubious without it. */
export const APP = `apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec: { selector: { app: web }, ports: [{ port: 80 }] }
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: web, namespace: shop }
spec:
  ingressClassName: nginx
  defaultBackend: { service: { name: web, port: { number: 80 } } }
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: allow-team, namespace: shop }
spec:
  podSelector: { matchLabels: { app: web } }
  ingress:
    - from: [{ namespaceSelector: { matchLabels: { team: shop } } }]
`;

/** The same app, but its Deployment now labels pods app: web-v2: the Service's selector goes stale. */
export const APP_WITH_NEW_DEPLOYMENT = `${APP}---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: shop }
spec:
  selector: { matchLabels: { app: web-v2 } }
  template: { metadata: { labels: { app: web-v2 } } }
`;

/** The namespace, redefined by the bundle without the team label the policy selects on. */
export const APP_WITH_RELABELLED_NAMESPACE = `${APP}---
apiVersion: v1
kind: Namespace
metadata: { name: shop, labels: { team: payments } }
`;
