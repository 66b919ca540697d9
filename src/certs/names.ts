// Names that go into a serving certificate, checked before any key is generated: a bad SAN
// only shows up later as a TLS failure between the apiserver and the webhook, far from its cause.
import { isIP } from 'node:net';
import { NetguardError } from '../errors.ts';

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** RFC 1123 label, as Kubernetes requires of namespace and Service names. */
export function checkDnsLabel(what: string, value: string): void {
  if (!LABEL.test(value)) {
    throw new NetguardError('CERT_REQUEST', `${what} "${value}" is not a DNS label (lowercase a-z, 0-9 and "-", at most 63 characters)`, { [what]: value });
  }
}

/** A dNSName SAN: a DNS subdomain, optionally with a leading "*." wildcard label. */
export function checkDnsName(value: string): void {
  const name = value.startsWith('*.') ? value.slice(2) : value;
  if (value.length > 253 || !name.split('.').every((label) => LABEL.test(label))) {
    throw new NetguardError('CERT_REQUEST', `DNS name "${value}" is not a lowercase DNS subdomain (RFC 1123)`, { dns: value });
  }
}

export function checkIpAddress(value: string): void {
  if (isIP(value) === 0) throw new NetguardError('CERT_REQUEST', `"${value}" is not an IPv4 or IPv6 address`, { ip: value });
}

/** Every name the apiserver (or a client inside the cluster) may use to reach a Service. */
export function serviceDnsNames(service: string, namespace: string, clusterDomain = 'cluster.local'): string[] {
  checkDnsLabel('service', service);
  checkDnsLabel('namespace', namespace);
  return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.${clusterDomain}`];
}
