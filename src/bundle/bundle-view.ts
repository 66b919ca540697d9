// The cluster as `netguard check` sees it: the bundle of manifests is the cluster state.
// Built once, then read-only. Applies the apiserver's defaults and the cluster's built-ins
// (the four system namespaces, the metadata.name label, the DNS pods the policy describes)
// so verdicts match what the server would say about the same objects in a cluster. Namespace
// labels are known only when the bundle (or the cluster state) holds Namespace objects.
import { defaultNetworkPolicySpec } from '../kube/defaulting.ts';
import { requirementsMatch, toRequirements, type Labels, type LabelSelector } from '../kube/selectors.ts';
import type { DnsSettings, KubeObject } from '../policies/types.ts';
import { BUILTIN_NAMESPACES, isClusterScoped, isTerminating, NAMESPACE_NAME_LABEL } from '../kube/objects.ts';
import { podSourceFromObject } from '../kube/pod-sources.ts';
import { clusterIPsOf, known, serviceSelects, unknown, type Answer, type ClusterView, type IngressClassInfo, type NamespaceInfo, type NetworkPolicyInfo, type PodSource } from '../view/view.ts';

const FROM = 'the bundle';

export interface BundleOptions {
  /** Namespace for namespaced objects that have none (`--namespace`, default "default"). */
  defaultNamespace?: string;
  /** The policy's DNS settings: the bundle view includes the DNS pods they describe. */
  dns?: DnsSettings;
}

export function dnsPodSource(dns: DnsSettings): PodSource {
  return {
    kind: 'Pod',
    namespace: dns.namespace,
    name: 'cluster-dns (from policy dns settings)',
    labels: { ...dns.podLabels },
    ports: dns.ports.flatMap((port) => [
      { name: dns.portNames.udp, port, protocol: 'UDP' as const },
      { name: dns.portNames.tcp, port, protocol: 'TCP' as const },
    ]),
  };
}

export class BundleView implements ClusterView {
  private readonly nsByName = new Map<string, NamespaceInfo>();
  private readonly podsByNs = new Map<string, PodSource[]>();
  private readonly policiesByNs = new Map<string, NetworkPolicyInfo[]>();
  private readonly classes: IngressClassInfo[] = [];
  private readonly servicesByNs = new Map<string, { selector?: Record<string, string>; clusterIPs: string[] }[]>();

  constructor(objects: readonly KubeObject[], options: BundleOptions = {}) {
    const defaultNs = options.defaultNamespace ?? 'default';
    let sawNamespace = false;
    for (const name of BUILTIN_NAMESPACES) this.addNamespace(name, {});
    if (options.dns) {
      this.addNamespace(options.dns.namespace, {});
      this.pods(options.dns.namespace).push(dnsPodSource(options.dns));
    }
    for (const obj of objects) {
      if (!obj || typeof obj !== 'object') continue;
      const name = obj.metadata?.name;
      if (typeof name !== 'string') continue;
      // kubectl's reading: a missing or empty namespace is the default one; a non-string is no namespace at all.
      const given = obj.metadata?.namespace;
      const ns = isClusterScoped(obj.kind) ? undefined : typeof given === 'string' && given !== '' ? given : defaultNs;
      if (ns) this.addNamespace(ns, {});
      switch (obj.kind) {
        case 'Namespace':
          this.addNamespace(name, obj.metadata?.labels ?? {}, isTerminating(obj));
          sawNamespace = true;
          break;
        case 'IngressClass':
          this.classes.push({
            name,
            ...(typeof obj.spec?.controller === 'string' ? { controller: obj.spec.controller } : {}),
            isDefault: obj.metadata?.annotations?.['ingressclass.kubernetes.io/is-default-class'] === 'true',
            ...(obj.metadata?.creationTimestamp ? { creationTimestamp: String(obj.metadata.creationTimestamp) } : {}),
          });
          break;
        case 'NetworkPolicy':
          this.policies(ns!).push({ namespace: ns!, name, spec: defaultNetworkPolicySpec(obj.spec ?? {}) });
          break;
        case 'Service': {
          const list = this.servicesByNs.get(ns!) ?? [];
          list.push({ ...(obj.spec?.selector && typeof obj.spec.selector === 'object' ? { selector: stringValues(obj.spec.selector) } : {}), clusterIPs: clusterIPsOf(obj.spec) });
          this.servicesByNs.set(ns!, list);
          break;
        }
        default: {
          const source = podSourceFromObject(obj, ns);
          if (source) this.pods(source.namespace).push(source);
        }
      }
    }
    // A bundle that describes no namespace (an app repo, no cluster state) has shown none of
    // their labels but the name: a namespaceSelector on anything else cannot be judged. One
    // Namespace object means the bundle describes its namespaces, as a cluster would.
    if (!sawNamespace) for (const [name, info] of this.nsByName) this.nsByName.set(name, { ...info, labelsUnseen: true });
  }

  private addNamespace(name: string, labels: Record<string, string>, terminating = false): void {
    const prev = this.nsByName.get(name);
    // Namespaces always carry their own name as a label (Kubernetes 1.21+), whatever the manifest says.
    const merged = { ...(prev?.labels ?? {}), ...stringValues(labels), [NAMESPACE_NAME_LABEL]: name };
    this.nsByName.set(name, { name, labels: merged, ...(terminating || prev?.terminating ? { terminating: true } : {}) });
  }

  private pods(ns: string): PodSource[] {
    let list = this.podsByNs.get(ns);
    if (!list) this.podsByNs.set(ns, (list = []));
    return list;
  }

  private policies(ns: string): NetworkPolicyInfo[] {
    let list = this.policiesByNs.get(ns);
    if (!list) this.policiesByNs.set(ns, (list = []));
    return list;
  }

  namespace(name: string): Answer<NamespaceInfo | undefined> {
    return known(this.nsByName.get(name), FROM);
  }

  namespaces(): Answer<readonly NamespaceInfo[]> {
    return known([...this.nsByName.values()], FROM);
  }

  podSources(namespace: string, selector: LabelSelector, limit = Infinity): Answer<readonly PodSource[]> {
    const reqs = toRequirements(selector);
    const out: PodSource[] = [];
    for (const p of this.podsByNs.get(namespace) ?? []) {
      if (out.length >= limit) break;
      if (requirementsMatch(reqs, p.labels, p.generated)) out.push(p);
    }
    return known(out, FROM);
  }

  allPodSources(namespace: string, limit = Infinity): Answer<readonly PodSource[]> {
    return known((this.podsByNs.get(namespace) ?? []).slice(0, limit), FROM);
  }

  ingressClasses(): Answer<readonly IngressClassInfo[]> {
    // An application's manifests rarely carry the cluster's IngressClasses. A bundle with none
    // has not shown us the cluster's classes, so "no such class" would be a guess: say unknown.
    if (this.classes.length === 0) {
      return unknown(
        'the bundle holds no IngressClass objects, so the cluster\'s classes are unknown (add them to the bundle, or name controller classes in extraClasses)',
      );
    }
    return known(this.classes, FROM);
  }

  networkPolicies(namespace: string): Answer<readonly NetworkPolicyInfo[]> {
    return known(this.policiesByNs.get(namespace) ?? [], FROM);
  }

  clusterIPsSelecting(namespace: string, podLabels: Labels): Answer<readonly string[]> {
    // The bundle's own Services (or the cluster state's): an app bundle rarely holds kube-dns,
    // and an empty answer then means "not shown", which callers treat as not knowing the address.
    return known((this.servicesByNs.get(namespace) ?? []).filter((s) => serviceSelects(s.selector, podLabels)).flatMap((s) => s.clusterIPs), FROM);
  }
}

function stringValues(labels: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (labels && typeof labels === 'object') for (const [k, v] of Object.entries(labels)) if (typeof v === 'string') out[k] = v;
  return out;
}
