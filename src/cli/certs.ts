// `netguard certs`: makes the CA and serving certificate for an in-cluster install, writes them
// where `kubectl create secret tls` can pick them up, and prints the caBundle (or, with
// --kubectl, the exact commands that install both). The CA key is never written: nothing can
// mint another certificate the webhook would trust, and rotation is "run it again".
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateCertificates, VALIDITY_LIMITS, type KeyType } from '../certs/generate.ts';
import { INSTALL_NAMES } from '../certs/install-names.ts';
import { serviceDnsNames } from '../certs/names.ts';
import { isNetguardError } from '../errors.ts';
import { parseCommandArgs } from './args.ts';

/** Names in manifests/; test/deploy checks the manifests against these. */
export const DEFAULTS = { namespace: INSTALL_NAMES.namespace, service: INSTALL_NAMES.service, out: 'certs' } as const;
export const TLS_SECRET_NAME = INSTALL_NAMES.secret;
export const WEBHOOK_CONFIGURATION_NAME = INSTALL_NAMES.webhookConfiguration;
/** JSON pointer of the caBundle in manifests/validatingwebhookconfiguration.yaml (its only webhook). */
/** Both webhooks of manifests/base (validate.netguard.io, breakage.netguard.io) call the same Service. */
export const WEBHOOK_COUNT = 2;
export const CA_BUNDLE_PATHS: readonly string[] = Array.from({ length: WEBHOOK_COUNT }, (_, i) => `/webhooks/${i}/clientConfig/caBundle`);

export const FILES = { ca: 'ca.crt', cert: 'tls.crt', key: 'tls.key' } as const;

export interface Io {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

const USAGE = `Usage: netguard certs [options]

Makes a CA and a serving certificate for the webhook Service, writes ca.crt and tls.crt
(mode 0644) and tls.key (mode 0600) to --out, and prints the base64 caBundle on stdout.

  --namespace NS        namespace of the webhook Service (default ${DEFAULTS.namespace})
  --service NAME        name of the webhook Service (default ${DEFAULTS.service})
  --out DIR             where to write the files (default ${DEFAULTS.out})
  --dns NAME            extra DNS subject alternative name (repeatable)
  --ip ADDR             extra IP subject alternative name (repeatable)
  --key-type rsa|ecdsa  RSA 2048 (default) or ECDSA P-256, for the CA and the serving cert
  --days N              serving certificate validity, ${VALIDITY_LIMITS.days.min}-${VALIDITY_LIMITS.days.max} (default ${VALIDITY_LIMITS.days.default})
  --ca-days N           CA validity, ${VALIDITY_LIMITS.caDays.min}-${VALIDITY_LIMITS.caDays.max}, at least --days (default ${VALIDITY_LIMITS.caDays.default})
  --also-trust FILE     PEM CA certificate(s) to keep in the caBundle too (rotation without a gap)
  --force               overwrite existing files
  --kubectl             print the kubectl commands that create the Secret and patch the caBundle
  -h, --help            show this help
`;

/** Quotes a word for POSIX sh only when it needs it. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

function positiveInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${flag} must be a whole number of days, got "${value}"`);
  return Number(value);
}

class UsageError extends Error {}

function kubectlCommands(namespace: string, out: string, caBundle: string): string {
  const patch = JSON.stringify(CA_BUNDLE_PATHS.map((path) => ({ op: 'add', path, value: caBundle })));
  return [
    `# For --cert-mode files: run after \`kubectl apply -k manifests/files/\` (it creates the namespace and the webhook configuration).`,
    `# 1. Tell the apiserver which CA to trust ("add" also replaces an existing caBundle). First, so a`,
    `#    rotation with --also-trust never has a moment where the new certificate is not yet trusted.`,
    `kubectl patch validatingwebhookconfiguration ${WEBHOOK_CONFIGURATION_NAME} --type=json -p ${shellQuote(patch)}`,
    `# 2. Create or replace the TLS Secret the netguard pods mount; they reload it without a restart.`,
    `kubectl create secret tls ${TLS_SECRET_NAME} -n ${shellQuote(namespace)} --cert=${shellQuote(join(out, FILES.cert))} --key=${shellQuote(join(out, FILES.key))} --dry-run=client -o yaml | kubectl apply -f -`,
    '',
  ].join('\n');
}

/** Writes via a temporary file and rename, so a reader never sees half a key and the mode is set before the name exists. */
function writeAtomic(path: string, data: string, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode, flag: 'w' });
  chmodSync(tmp, mode); // the umask may have narrowed or the file may have pre-existed
  renameSync(tmp, path);
}

export async function runCerts(argv: string[], io: Io = process): Promise<number> {
  try {
    const parsed = parseCommandArgs(argv, {
      namespace: { type: 'string', default: DEFAULTS.namespace },
      service: { type: 'string', default: DEFAULTS.service },
      out: { type: 'string', default: DEFAULTS.out },
      dns: { type: 'string', multiple: true, default: [] },
      ip: { type: 'string', multiple: true, default: [] },
      'key-type': { type: 'string', default: 'rsa' },
      days: { type: 'string' },
      'ca-days': { type: 'string' },
      'also-trust': { type: 'string', multiple: true, default: [] },
      force: { type: 'boolean', default: false },
      kubectl: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    });
    if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument "${parsed.positionals[0]}" (options only)`);
    const args = parsed.values;
    if (args.help) {
      io.stdout.write(USAGE);
      return 0;
    }
    const keyType = args['key-type'];
    if (keyType !== 'rsa' && keyType !== 'ecdsa') throw new UsageError(`--key-type must be rsa or ecdsa, got "${keyType}"`);

    const out = args.out;
    const paths = { ca: join(out, FILES.ca), cert: join(out, FILES.cert), key: join(out, FILES.key) };
    const existing = Object.values(paths).filter((p) => existsSync(p));
    if (existing.length > 0 && !args.force) {
      io.stderr.write(`netguard certs: refusing to overwrite ${existing.join(', ')} (use --force to replace them)\n`);
      return 1;
    }
    const alsoTrust = args['also-trust'].map((file) => readFileSync(file, 'utf8').trimEnd() + '\n');
    if (alsoTrust.some((pem) => !pem.includes('-----BEGIN CERTIFICATE-----'))) throw new UsageError('--also-trust must name PEM certificate files');

    const dnsNames = [...new Set([...serviceDnsNames(args.service, args.namespace), ...args.dns])];
    const generated = generateCertificates({
      dnsNames,
      ipAddresses: args.ip,
      keyType: keyType as KeyType,
      validityDays: positiveInt('days', args.days),
      caValidityDays: positiveInt('ca-days', args['ca-days']),
    });

    mkdirSync(out, { recursive: true, mode: 0o700 });
    writeAtomic(paths.ca, generated.caCert, 0o644);
    writeAtomic(paths.cert, generated.cert, 0o644);
    writeAtomic(paths.key, generated.key, 0o600);

    const caBundle = Buffer.from([generated.caCert, ...alsoTrust].join('')).toString('base64');
    io.stderr.write(
      `netguard certs: wrote ${paths.ca}, ${paths.cert} (mode 0644) and ${paths.key} (mode 0600); the CA key was not kept\n` +
        `  ${keyType === 'rsa' ? 'RSA 2048' : 'ECDSA P-256'}, SANs: ${[...dnsNames, ...args.ip].join(', ')}\n` +
        (args.namespace !== DEFAULTS.namespace || args.service !== DEFAULTS.service
          ? `  note: manifests/ deploys ${DEFAULTS.service}.${DEFAULTS.namespace}; change them to match ${args.service}.${args.namespace}\n`
          : ''),
    );
    if (args.kubectl) {
      io.stdout.write(kubectlCommands(args.namespace, out, caBundle));
    } else {
      io.stderr.write(`caBundle (base64 of ${paths.ca}${alsoTrust.length ? ' plus --also-trust' : ''}):\n`);
      io.stdout.write(caBundle + '\n');
    }
    return 0;
  } catch (err) {
    if (err instanceof UsageError || isNetguardError(err, 'USAGE') || isNetguardError(err, 'CERT_REQUEST')) {
      io.stderr.write(`netguard certs: ${(err as Error).message}\nRun "netguard certs --help" for usage.\n`);
      return 2;
    }
    io.stderr.write(`netguard certs: ${(err as Error).message}\n`);
    return 1;
  }
}
