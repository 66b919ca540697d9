// The custom kinds netguard knows the pods of out of the box: the default of the policy's
// customPodSources (policies/default.yaml writes the same list out; a test keeps them equal).
// Every label below was read from the operator's source; docs/rules/service-selector-has-match.md
// ("Pods that operators create") has the table with the files.
//
// prometheus-operator (github.com/prometheus-operator/prometheus-operator, pkg/):
//   pod labels = config.Labels (the operator's --labels flag: yours to add here)
//              over the selector labels (makeSelectorLabels in pkg/prometheus/server/operator.go,
//                pkg/alertmanager/operator.go, pkg/thanos/operator.go:
//                app.kubernetes.io/name, app.kubernetes.io/managed-by: prometheus-operator,
//                app.kubernetes.io/instance: <name>, and prometheus / alertmanager / thanos-ruler: <name>;
//                Prometheus also operator.prometheus.io/name: <name> and operator.prometheus.io/shard)
//              over spec.podMetadata.labels
//              over app.kubernetes.io/version: <version> (Prometheus: BuildPodMetadata in
//                pkg/prometheus/promcfg.go; Alertmanager: makeStatefulSetSpec) — except ThanosRuler,
//                which sets the version last (pkg/thanos/statefulset.go makeStatefulSetSpec).
//   The StatefulSet is prometheus-<name> (shard n > 0: prometheus-<name>-shard-<n>, pkg/prometheus/
//   common.go prometheusNameByShard), alertmanager-<name>, thanos-ruler-<name> (prefixedName);
//   replicas default to 1 (ReplicasNumberPtr; Alertmanager makeStatefulSet), shards below 2 are one
//   (shardsNumber). PrometheusAgent is left out: in DaemonSet mode its pods get other labels.
// Argo Rollouts (github.com/argoproj/argo-rollouts):
//   a Rollout's ReplicaSets are its spec.template plus rollouts-pod-template-hash, a controller hash
//   (rollout/sync.go createDesiredReplicaSet; utils/hash/hash.go ComputePodTemplateHash); canary and
//   stable (blue-green: preview and active) metadata labels go over the template's on the pods of
//   that side (utils/replicaset/canary.go SyncEphemeralPodMetadata); spec.workloadRef takes the
//   template from another workload.
import type { CustomPodSource } from './custom-pod-sources.ts';

const MONITORING = 'monitoring.coreos.com';
const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'prometheus-operator', 'app.kubernetes.io/instance': '{{name}}' } as const;

export const SHIPPED_CUSTOM_POD_SOURCES: readonly CustomPodSource[] = Object.freeze<CustomPodSource[]>([
  {
    group: MONITORING,
    kind: 'Prometheus',
    resource: 'prometheuses',
    versions: ['v1'],
    podLabels: 'spec.podMetadata.labels',
    labels: { 'app.kubernetes.io/name': 'prometheus', ...MANAGED_BY, 'operator.prometheus.io/name': '{{name}}', prometheus: '{{name}}' },
    defaultLabels: { 'app.kubernetes.io/version': '*' },
    statefulSet: {
      name: 'prometheus-{{name}}',
      replicas: 'spec.replicas',
      shards: { count: 'spec.shards', name: 'prometheus-{{name}}-shard-{{shard}}', label: 'operator.prometheus.io/shard' },
    },
  },
  {
    group: MONITORING,
    kind: 'Alertmanager',
    resource: 'alertmanagers',
    versions: ['v1'],
    podLabels: 'spec.podMetadata.labels',
    labels: { 'app.kubernetes.io/name': 'alertmanager', ...MANAGED_BY, alertmanager: '{{name}}' },
    defaultLabels: { 'app.kubernetes.io/version': '*' },
    statefulSet: { name: 'alertmanager-{{name}}', replicas: 'spec.replicas' },
  },
  {
    group: MONITORING,
    kind: 'ThanosRuler',
    resource: 'thanosrulers',
    versions: ['v1'],
    podLabels: 'spec.podMetadata.labels',
    labels: { 'app.kubernetes.io/name': 'thanos-ruler', ...MANAGED_BY, 'thanos-ruler': '{{name}}' },
    generated: { 'app.kubernetes.io/version': '*' },
    statefulSet: { name: 'thanos-ruler-{{name}}', replicas: 'spec.replicas' },
  },
  {
    group: 'argoproj.io',
    kind: 'Rollout',
    resource: 'rollouts',
    versions: ['v1alpha1'],
    podTemplate: 'spec.template',
    generated: { 'rollouts-pod-template-hash': 'controller-hash' },
    variantLabels: [
      'spec.strategy.canary.canaryMetadata.labels',
      'spec.strategy.canary.stableMetadata.labels',
      'spec.strategy.blueGreen.previewMetadata.labels',
      'spec.strategy.blueGreen.activeMetadata.labels',
    ],
    unknownWhenSet: ['spec.workloadRef'],
  },
]);
