// Metrics of self-managed certificates. The serving certificate's expiry is the server's
// netguard_serving_certificate_expiry_seconds (every mode has one); these are the rest.
// Idempotent per registry, like serverMetrics.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Phase } from './secret-format.ts';

export interface CertificateMetrics {
  caExpiry: Gauge;
  issued: Counter<'certificate' | 'reason'>;
  repairs: Counter<'reason'>;
  errors: Counter<'code'>;
  ready: Gauge;
  phase: Gauge<'phase'>;
  /** read at every scrape into `ready`, so the metric never lags /readyz */
  readyProbe?: () => boolean;
}

export const PHASES: readonly Phase[] = ['stable', 'trusting-new-ca', 'serving-new-ca'];

const byRegistry = new WeakMap<Registry, CertificateMetrics>();

export function certificateMetrics(registry: Registry): CertificateMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const metrics: CertificateMetrics = {
    caExpiry: new Gauge({
      name: 'netguard_ca_certificate_expiry_seconds',
      help: 'notAfter of the CA that signs the serving certificate in use, as Unix seconds (self-managed certificates)',
      registers,
    }),
    issued: new Counter({
      name: 'netguard_certificates_issued_total',
      help: 'Certificates this replica issued and stored in the certificate Secret, by certificate (ca, serving) and reason',
      labelNames: ['certificate', 'reason'],
      registers,
    }),
    repairs: new Counter({
      name: 'netguard_certificate_repairs_total',
      help: 'Things this replica put right: secret-deleted, secret-invalid, ca-expired, ca-bundle-edited',
      labelNames: ['reason'],
      registers,
    }),
    errors: new Counter({
      name: 'netguard_certificate_errors_total',
      help: 'Failed steps of certificate management, by error code (CERT_FORBIDDEN, CERT_WEBHOOK_MISSING, CERT_API...); each is retried',
      labelNames: ['code'],
      registers,
    }),
    ready: new Gauge({
      name: 'netguard_certificate_ready',
      help: '1 when this replica serves a certificate that the webhook configuration trusts, else 0 (/readyz answers 503)',
      registers,
      collect() {
        if (metrics.readyProbe) this.set(metrics.readyProbe() ? 1 : 0);
      },
    }),
    phase: new Gauge({
      name: 'netguard_ca_rotation_phase',
      help: 'The CA rotation phase recorded in the certificate Secret: 1 for the current phase, 0 for the others',
      labelNames: ['phase'],
      registers,
    }),
  };
  byRegistry.set(registry, metrics);
  return metrics;
}
