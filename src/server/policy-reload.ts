// Policy hot reload. The policy is a mounted ConfigMap: the kubelet updates it by writing a
// new timestamped directory and swapping the `..data` symlink, so (as for the certificate in
// tls.ts) we watch the directory AND poll: fs.watch can miss events on some filesystems and
// sees the symlink swap only as an event on the directory, polling cannot miss a change.
//
// A valid new policy replaces the old one in one assignment: a request reads the store once
// and keeps that policy to its end (validate.ts), so no request mixes two policies. An invalid
// or unreadable file keeps the current policy; the error is logged once per distinct content,
// counted, and netguard_policy_last_reload_success drops to 0 until a good file is read.
import { readFile } from 'node:fs/promises';
import type pino from 'pino';
import { parsePolicy, MAX_POLICY_BYTES } from '../policies/policy-file.ts';
import type { Policy } from '../policies/types.ts';
import type { ServerMetrics } from './metrics.ts';
import { watchFiles } from './file-watch.ts';

/** Holds the policy in force. Listeners (health, metrics) hear of each swap. */
export interface PolicyStore {
  readonly current: Policy;
  replace(next: Policy): void;
  onChange(listener: (next: Policy, previous: Policy) => void): void;
}

export function policyStore(initial: Policy): PolicyStore {
  let current = initial;
  const listeners: ((next: Policy, previous: Policy) => void)[] = [];
  return {
    get current() {
      return current;
    },
    replace(next) {
      const previous = current;
      current = next;
      for (const l of listeners) l(next, previous);
    },
    onChange(listener) {
      listeners.push(listener);
    },
  };
}

/** netguard_policy_info carries exactly one series: the policy in force. */
export function recordPolicyInfo(metrics: ServerMetrics, policy: Policy): void {
  metrics.policyInfo.reset();
  metrics.policyInfo.set({ hash: policy.hash, source: policy.source }, 1);
}

export interface PolicyWatcherOptions {
  file: string;
  store: PolicyStore;
  logger: pino.Logger;
  metrics: ServerMetrics;
  /** stat poll period; default 10 s */
  pollMs?: number;
  /** coalesces the burst of events one ConfigMap update makes; default 100 ms */
  debounceMs?: number;
}

export interface PolicyWatcher {
  /** re-read the file now; resolves when done (tests and the poll use it) */
  check(): Promise<void>;
  close(): void;
}

export function watchPolicyFile(opts: PolicyWatcherOptions): PolicyWatcher {
  const { file, store, logger, metrics } = opts;
  let lastRejected = '';
  metrics.policyLastReloadSuccess.set(1);

  function rejected(what: string, log: () => void): void {
    metrics.policyLastReloadSuccess.set(0);
    // Once per distinct problem: the poll would otherwise log and count it every period.
    if (what === lastRejected) return;
    lastRejected = what;
    metrics.policyReloadErrors.inc();
    log();
  }

  async function checkOnce(): Promise<void> {
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (err) {
      rejected(`read:${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, () =>
        logger.error({ file, error: (err as Error).message, keeping: store.current.hash }, 'cannot read the policy file; keeping the current policy'),
      );
      return;
    }
    if (bytes.length > MAX_POLICY_BYTES) {
      rejected(`size:${bytes.length}`, () =>
        logger.error({ file, bytes: bytes.length, limit: MAX_POLICY_BYTES, keeping: store.current.hash }, 'the policy file is too large; keeping the current policy'),
      );
      return;
    }
    const text = bytes.toString('utf8');
    let next: Policy;
    try {
      next = parsePolicy(text, file);
    } catch (err) {
      rejected(`parse:${text}`, () =>
        logger.error({ file, error: (err as Error).message, keeping: store.current.hash }, 'new policy rejected; keeping the current policy'),
      );
      return;
    }
    lastRejected = '';
    metrics.policyLastReloadSuccess.set(1);
    const previous = store.current;
    if (next.hash === previous.hash) return;
    store.replace(next);
    logger.info({ file, sha256: next.hash, previous: previous.hash, failOpen: next.failOpen }, 'policy reloaded');
    if (JSON.stringify([next.dns.namespace, next.dns.podLabels]) !== JSON.stringify([previous.dns.namespace, previous.dns.podLabels])) {
      // The cluster caches chose what to watch at start-up (the DNS namespace and pod labels).
      logger.warn(
        { dnsNamespace: next.dns.namespace, watching: previous.dns.namespace },
        'dns.namespace or dns.podLabels changed: the cluster caches keep watching the old DNS pods until netguard restarts',
      );
    }
    if (JSON.stringify(next.customPodSources ?? []) !== JSON.stringify(previous.customPodSources ?? [])) {
      // The caches chose the custom kinds, and projected their objects, at start-up.
      logger.warn(
        { kinds: (next.customPodSources ?? []).map((e) => `${e.kind}.${e.group}`) },
        'customPodSources changed: the cluster caches keep the custom kinds and entries they started with until netguard restarts',
      );
    }
  }

  return watchFiles({
    files: [file],
    reload: checkOnce,
    logger,
    what: 'policy',
    ...(opts.pollMs !== undefined ? { pollMs: opts.pollMs } : {}),
    ...(opts.debounceMs !== undefined ? { debounceMs: opts.debounceMs } : {}),
  });
}
