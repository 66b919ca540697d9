// The soak's request mix: the AdmissionReviews on file in examples/ plus a few generated ones
// that make the rules search the pods being churned. Each template is pre-serialised once and
// split at the uid, so building a request is one string concatenation.
import { readFileSync } from 'node:fs';
import { CHURN_NAMESPACES } from './fake-cluster.ts';

const UID = '__SOAK_UID__';

export interface ReviewTemplate {
  name: string;
  body(uid: string): Buffer;
}

function template(name: string, review: any): ReviewTemplate {
  const text = JSON.stringify({ ...review, request: { ...review.request, uid: UID } });
  const [head, tail] = text.split(UID);
  return { name, body: (uid) => Buffer.from(head + uid + tail) };
}

function example(file: string): any {
  return JSON.parse(readFileSync(new URL(`../examples/admission-reviews/${file}`, import.meta.url), 'utf8'));
}

function generated(kind: 'Service' | 'NetworkPolicy', namespace: string, name: string, spec: any): any {
  const apiVersion = kind === 'Service' ? 'v1' : 'networking.k8s.io/v1';
  const [group, version] = kind === 'Service' ? ['', 'v1'] : ['networking.k8s.io', 'v1'];
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: UID,
      kind: { group, version, kind },
      resource: { group, version, resource: kind === 'Service' ? 'services' : 'networkpolicies' },
      name,
      namespace,
      operation: 'CREATE',
      userInfo: { username: 'soak', groups: ['system:authenticated'] },
      object: { apiVersion, kind, metadata: { name, namespace }, spec },
      oldObject: null,
      dryRun: false,
    },
  };
}

/** Ten kinds of request: denials, warnings and clean answers, half of them asking the churned pod index. */
export function reviewTemplates(): ReviewTemplate[] {
  const out: ReviewTemplate[] = [
    template('service-selector-typo', example('service-selector-typo.json')),
    template('ingress-class-typo', example('ingress-class-typo.json')),
    template('nodeport-in-production', example('nodeport-in-production.json')),
    template('default-deny-without-dns', example('default-deny-without-dns.json')),
    template('default-deny-with-dns', example('default-deny-with-dns.json')),
    template('allow-dns', example('allow-dns.json')),
  ];
  for (let shard = 0; shard < 2; shard++) {
    const ns = `churn-${shard % CHURN_NAMESPACES}`;
    out.push(template(`service-on-churned-pods-${shard}`, generated('Service', ns, `churn-svc-${shard}`, { selector: { app: 'churn', shard: String(shard) }, ports: [{ port: 80 }] })));
  }
  out.push(
    template('networkpolicy-on-churned-pods', generated('NetworkPolicy', 'churn-3', 'churn-ingress', {
      podSelector: { matchLabels: { app: 'churn' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { app: 'churn' } } }, { namespaceSelector: { matchLabels: { team: 'team-1' } } }] }],
    })),
    template('service-in-app-namespace', generated('Service', 'app-7', 'web', { selector: { app: 'web', tier: 'frontend' }, ports: [{ port: 80 }] })),
  );
  return out;
}
