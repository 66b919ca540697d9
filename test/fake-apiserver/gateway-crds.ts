// The Gateway API CRDs, for installing into the fake apiserver at run time. The upstream
// standard-channel files live outside the repository (../shared/gateway-api/crds, v1.6.1); when
// they are there they are used verbatim, and otherwise the same facts (group, names, scope,
// served and storage versions) stand in for them, so `npm test` runs on a fresh clone.
// test/cluster/gateway-api.test.ts checks that the stand-ins equal the upstream files.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const SHARED_CRDS = fileURLToPath(new URL('../../../shared/gateway-api/crds/', import.meta.url));

/** kind → [plural, scope, served versions, storage version] of the standard channel, v1.6.1. */
export const STANDARD_CRDS: Record<string, [string, 'Namespaced' | 'Cluster', string[], string]> = {
  GatewayClass: ['gatewayclasses', 'Cluster', ['v1', 'v1beta1'], 'v1'],
  Gateway: ['gateways', 'Namespaced', ['v1', 'v1beta1'], 'v1'],
  HTTPRoute: ['httproutes', 'Namespaced', ['v1', 'v1beta1'], 'v1'],
  GRPCRoute: ['grpcroutes', 'Namespaced', ['v1'], 'v1'],
  ReferenceGrant: ['referencegrants', 'Namespaced', ['v1', 'v1beta1'], 'v1beta1'],
  BackendTLSPolicy: ['backendtlspolicies', 'Namespaced', ['v1'], 'v1'],
  ListenerSet: ['listenersets', 'Namespaced', ['v1'], 'v1'],
  TLSRoute: ['tlsroutes', 'Namespaced', ['v1'], 'v1'],
  TCPRoute: ['tcproutes', 'Namespaced', ['v1'], 'v1'],
  UDPRoute: ['udproutes', 'Namespaced', ['v1'], 'v1'],
};

/** A CRD object with what the fake reads of it (no schema). */
export function standInCrd(kind: string): any {
  const [plural, scope, served, storage] = STANDARD_CRDS[kind];
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.gateway.networking.k8s.io` },
    spec: {
      group: 'gateway.networking.k8s.io',
      names: { kind, plural },
      scope,
      versions: served.map((name) => ({ name, served: true, storage: name === storage })),
    },
  };
}

/** The upstream CRD files, parsed; undefined without ../shared. */
export function upstreamCrds(): any[] | undefined {
  if (!existsSync(SHARED_CRDS)) return undefined;
  return readdirSync(SHARED_CRDS)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => parseAllDocuments(readFileSync(join(SHARED_CRDS, f), 'utf8')).map((d) => d.toJS()))
    .filter((d) => d?.kind === 'CustomResourceDefinition');
}

/** Every standard-channel CRD: the upstream files when present, else the stand-ins. */
export function gatewayCrds(): any[] {
  return upstreamCrds() ?? Object.keys(STANDARD_CRDS).map(standInCrd);
}
