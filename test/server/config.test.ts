// serve flags, their environment variables, defaults; and the "is there a cluster" decision.
import { join } from 'node:path';
import t from 'tap';
import { isNetguardError } from '../../src/errors.ts';
import { DEFAULT_POLICY_FILE } from '../../src/policies/policy-file.ts';
import { chooseCluster, SERVICE_ACCOUNT_TOKEN, type ClusterProbe } from '../../src/server/cluster.ts';
import { DEFAULT_CERT_DIR, parseServeConfig } from '../../src/server/config.ts';
import { thrown } from './helpers.ts';

t.test('defaults', async (t) => {
  const c = parseServeConfig([], {});
  t.equal(c.policyFile, DEFAULT_POLICY_FILE);
  t.equal(c.host, '127.0.0.1');
  t.equal(c.port, 8443);
  t.equal(c.metricsPort, 9090, 'metrics on their own plain-HTTP port by default');
  t.equal(c.tlsCert, undefined);
  t.equal(c.certMode, 'dev', 'no certificate given: the development certificate');
  t.equal(c.selfManaged, undefined);
  t.equal(c.kubeconfig, undefined);
  t.equal(c.logLevel, 'info');
  t.equal(c.certDir, DEFAULT_CERT_DIR);
  t.equal(c.shutdownDelayMs, 5000);
  t.equal(c.help, false);
});

t.test('every flag reads its env var, and flags win', async (t) => {
  const env = {
    NETGUARD_POLICY: '/env/policy.yaml',
    NETGUARD_HOST: '0.0.0.0',
    NETGUARD_PORT: '9443',
    NETGUARD_METRICS_PORT: '9191',
    NETGUARD_TLS_CERT: '/env/tls.crt',
    NETGUARD_TLS_KEY: '/env/tls.key',
    NETGUARD_KUBECONFIG: '/env/kubeconfig',
    KUBECONFIG: '/env/other',
    NETGUARD_LOG_LEVEL: 'debug',
    NETGUARD_CERT_DIR: '/env/certs',
    NETGUARD_SHUTDOWN_DELAY_SECONDS: '0.25',
  };
  const fromEnv = parseServeConfig([], env);
  t.same(
    { ...fromEnv },
    {
      policyFile: '/env/policy.yaml',
      host: '0.0.0.0',
      port: 9443,
      metricsPort: 9191,
      certMode: 'files',
      tlsCert: '/env/tls.crt',
      tlsKey: '/env/tls.key',
      kubeconfig: { path: '/env/kubeconfig', from: 'NETGUARD_KUBECONFIG' },
      logLevel: 'debug',
      certDir: '/env/certs',
      shutdownDelayMs: 250,
      help: false,
    },
  );
  const flags = parseServeConfig(
    ['--policy', 'p.yaml', '--host', '::1', '--port', '0', '--metrics-port', '0', '--tls-cert', 'c', '--tls-key', 'k', '--kubeconfig', 'kc', '--log-level', 'warn'],
    env,
  );
  t.equal(flags.policyFile, 'p.yaml');
  t.equal(flags.host, '::1');
  t.equal(flags.port, 0);
  t.equal(flags.metricsPort, 0, '0: no separate metrics listener');
  t.equal(flags.tlsCert, 'c');
  t.equal(flags.tlsKey, 'k');
  t.same(flags.kubeconfig, { path: 'kc', from: '--kubeconfig' });
  t.equal(flags.logLevel, 'warn');
});

t.test('KUBECONFIG is used when NETGUARD_KUBECONFIG is not set', async (t) => {
  t.same(parseServeConfig([], { KUBECONFIG: '/a:/b' }).kubeconfig, { path: '/a:/b', from: 'KUBECONFIG' });
});

t.test('empty env vars count as unset', async (t) => {
  t.equal(parseServeConfig([], { NETGUARD_PORT: '', NETGUARD_HOST: '' }).port, 8443);
  t.equal(parseServeConfig([], { NETGUARD_HOST: '' }).host, '127.0.0.1');
});


const bad: [string, string[], Record<string, string>, RegExp][] = [
  ['unknown flag', ['--nope'], {}, /unknown option --nope/],
  ['flag without value', ['--port'], {}, /--port needs a value/],
  ['port not a number', ['--port', 'http'], {}, /--port must be a number/],
  ['port too big', [], { NETGUARD_PORT: '70000' }, /--port must be a number/],
  ['metrics port not a number', ['--metrics-port', 'x'], {}, /--metrics-port must be a number from 0 to 65535, got "x"/],
  ['a Docker-link variable', [], { NETGUARD_METRICS_PORT: 'tcp://10.96.0.12:9090' }, /--metrics-port must be a number.*enableServiceLinks: false/],
  ['metrics port = port', ['--port', '8443', '--metrics-port', '8443'], {}, /--metrics-port must differ from --port \(both 8443\)/],
  ['bad log level', ['--log-level', 'loud'], {}, /--log-level must be one of/],
  ['cert without key', ['--tls-cert', 'c'], {}, /go together/],
  ['key without cert (env)', [], { NETGUARD_TLS_KEY: 'k' }, /go together/],
  ['positional', ['extra'], {}, /unexpected argument extra/],
  ['negative delay', [], { NETGUARD_SHUTDOWN_DELAY_SECONDS: '-1' }, /NETGUARD_SHUTDOWN_DELAY_SECONDS/],
  ['unknown certificate mode', ['--cert-mode', 'magic'], {}, /--cert-mode must be one of self-managed, files, dev/],
  ['files mode without files', ['--cert-mode', 'files'], {}, /needs --tls-cert and --tls-key/],
  ['self-managed with files', ['--cert-mode', 'self-managed', '--tls-cert', 'c', '--tls-key', 'k'], { POD_NAMESPACE: 'ns' }, /are for --cert-mode files, not self-managed/],
  ['self-managed without a namespace', ['--cert-mode', 'self-managed'], {}, /needs the namespace netguard runs in: set POD_NAMESPACE/],
  ['self-managed, namespace not a DNS label', ['--cert-mode', 'self-managed', '--namespace', 'Bad_NS'], {}, /--namespace: namespace "Bad_NS" is not a DNS label/],
  ['validity not a duration', ['--cert-mode', 'self-managed', '--cert-validity', '1 year'], { POD_NAMESPACE: 'ns' }, /--cert-validity must be a duration such as 8760h/],
  ['validity under an hour', ['--cert-mode', 'self-managed', '--cert-validity', '30m'], { POD_NAMESPACE: 'ns' }, /--cert-validity must be between 1h and 825d/],
  ['CA shorter than the certificate', ['--cert-mode', 'self-managed', '--cert-validity', '90d', '--ca-validity', '30d'], { POD_NAMESPACE: 'ns' }, /--ca-validity must be at least --cert-validity/],
];
for (const [name, argv, env, message] of bad) {
  t.test(`usage error: ${name}`, async (t) => {
    const err = thrown(() => parseServeConfig(argv, env));
    t.ok(isNetguardError(err, 'USAGE'), 'a USAGE error');
    t.match((err as Error).message, message);
  });
}

t.test('certificate modes: self-managed from flags, environment and the downward API', async (t) => {
  const c = parseServeConfig(['--cert-mode', 'self-managed'], { POD_NAMESPACE: 'guard', POD_NAME: 'netguard-7d9f-abcde' });
  t.equal(c.certMode, 'self-managed');
  t.same(c.selfManaged, {
    namespace: 'guard',
    service: 'netguard',
    secretName: 'netguard-tls',
    webhookConfiguration: 'netguard',
    servingValidityMs: 365 * 86_400_000,
    caValidityMs: 3650 * 86_400_000,
    clusterDomain: 'cluster.local',
    pod: 'netguard-7d9f-abcde',
  }, 'defaults: the names manifests/ installs, a one-year certificate and a ten-year CA');
  const env = {
    NETGUARD_CERT_MODE: 'self-managed', NETGUARD_NAMESPACE: 'from-env', POD_NAMESPACE: 'ignored', NETGUARD_SERVICE: 'hook',
    NETGUARD_CERT_SECRET: 'hook-tls', NETGUARD_WEBHOOK_CONFIG: 'hook-config', NETGUARD_CERT_VALIDITY: '720h', NETGUARD_CA_VALIDITY: '365d',
    NETGUARD_CLUSTER_DOMAIN: 'corp.example',
  };
  t.match(parseServeConfig([], env).selfManaged, {
    namespace: 'from-env', service: 'hook', secretName: 'hook-tls', webhookConfiguration: 'hook-config',
    servingValidityMs: 720 * 3_600_000, caValidityMs: 365 * 86_400_000, clusterDomain: 'corp.example',
  }, 'every setting reads its environment variable; NETGUARD_NAMESPACE before POD_NAMESPACE');
  const flags = parseServeConfig(['--namespace', 'ns2', '--service', 's2', '--cert-secret', 'x', '--webhook-config', 'y', '--cert-validity', '1h30m', '--ca-validity', '2h'], env);
  t.match(flags.selfManaged, { namespace: 'ns2', service: 's2', secretName: 'x', webhookConfiguration: 'y', servingValidityMs: 90 * 60_000, caValidityMs: 2 * 3_600_000 }, 'flags win');
  t.equal(parseServeConfig(['--cert-mode', 'dev'], env).certMode, 'dev', 'the flag wins over NETGUARD_CERT_MODE');
  t.equal(parseServeConfig(['--tls-cert', 'c', '--tls-key', 'k'], {}).certMode, 'files', '--tls-cert alone means files mode, as before');
});

t.test('-h asks for help', async (t) => {
  t.equal(parseServeConfig(['-h'], {}).help, true);
});

// The cluster decision: a table of environments.
function probe(env: Record<string, string>, files: string[], homedir = '/home/me'): ClusterProbe {
  return { env, exists: (p) => files.includes(p), homedir };
}
const HOME_CONFIG = join('/home/me', '.kube', 'config');

t.test('no kubeconfig, no service account, no ~/.kube/config: no cluster, with the reason', async (t) => {
  const c = chooseCluster({}, probe({}, []));
  t.equal(c.kind, 'none');
  if (c.kind === 'none') t.match(c.reason, /no kubeconfig, not in a cluster/);
});

t.test('no home directory at all: no cluster', async (t) => {
  t.equal(chooseCluster({}, probe({}, [HOME_CONFIG], '')).kind, 'none');
});

t.test('KUBERNETES_SERVICE_HOST without the token file is not a cluster', async (t) => {
  t.equal(chooseCluster({}, probe({ KUBERNETES_SERVICE_HOST: '10.0.0.1' }, [])).kind, 'none');
});

t.test('in a pod: the service account', async (t) => {
  t.same(chooseCluster({}, probe({ KUBERNETES_SERVICE_HOST: '10.0.0.1' }, [SERVICE_ACCOUNT_TOKEN, HOME_CONFIG])), { kind: 'in-cluster' });
});

t.test('~/.kube/config when nothing else is set', async (t) => {
  t.same(chooseCluster({}, probe({}, [HOME_CONFIG])), { kind: 'kubeconfig', path: HOME_CONFIG, from: '~/.kube/config' });
});

t.test('KUBECONFIG: the first existing file of the list, before in-cluster', async (t) => {
  const env = { KUBERNETES_SERVICE_HOST: '10.0.0.1' };
  const c = chooseCluster({ kubeconfig: { path: '/missing:/there', from: 'KUBECONFIG' } }, probe(env, ['/there', SERVICE_ACCOUNT_TOKEN]));
  t.same(c, { kind: 'kubeconfig', path: '/there', from: 'KUBECONFIG' });
});

t.test('KUBECONFIG naming no file falls through and says so', async (t) => {
  const c = chooseCluster({ kubeconfig: { path: '/missing', from: 'KUBECONFIG' } }, probe({}, []));
  t.equal(c.kind, 'none');
  if (c.kind === 'none') t.match(c.reason, /KUBECONFIG=\/missing names no existing file/);
});

t.test('an explicit --kubeconfig that does not exist is a usage error', async (t) => {
  const err = thrown(() => chooseCluster({ kubeconfig: { path: '/nope', from: '--kubeconfig' } }, probe({}, [])));
  t.ok(isNetguardError(err, 'USAGE'));
  t.match((err as Error).message, /--kubeconfig \/nope: no such file/);
  t.same(chooseCluster({ kubeconfig: { path: '/yes', from: 'NETGUARD_KUBECONFIG' } }, probe({}, ['/yes'])), {
    kind: 'kubeconfig',
    path: '/yes',
    from: 'NETGUARD_KUBECONFIG',
  });
});
