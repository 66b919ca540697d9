// Watches mounted files (a Secret's certificate, a ConfigMap's policy) and calls `reload`
// when they may have changed. Kubernetes updates a mount by writing a new timestamped
// directory and swapping the `..data` symlink, so we watch the directory, not the file,
// and also poll: fs.watch can miss events on some filesystems, polling cannot.
//
// Only events for the watched names (or the kubelet's `..`-prefixed entries) count, and the
// debounce has a ceiling: a busy neighbour in the same directory (a log file) can neither
// trigger reloads nor postpone one indefinitely.
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type pino from 'pino';

export interface FileWatchOptions {
  files: readonly string[];
  /** re-read and apply; must not throw (it logs its own problems) */
  reload(): Promise<void>;
  logger: pino.Logger;
  /** what is watched, for log lines: "certificate", "policy" */
  what: string;
  /** poll period; default 10 s */
  pollMs?: number;
  /** coalesces the burst of events one update makes; default 100 ms */
  debounceMs?: number;
  /** the longest a stream of events may postpone a reload; default 10 × debounceMs */
  maxDelayMs?: number;
}

export interface FileWatch {
  /** re-read now; resolves when done (tests and the poll use it) */
  check(): Promise<void>;
  close(): void;
}

export function watchFiles(opts: FileWatchOptions): FileWatch {
  const debounceMs = opts.debounceMs ?? 100;
  const maxDelayMs = opts.maxDelayMs ?? debounceMs * 10;
  const names = new Set(opts.files.map((f) => basename(f)));
  let running: Promise<void> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let firstEventAt: number | undefined;
  let closed = false;

  /** One reload at a time; a request during a reload runs once more after it. */
  function check(): Promise<void> {
    if (closed) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await opts.reload();
      } while (again && !closed);
    })().finally(() => (running = undefined));
    return running;
  }

  function fire(): void {
    firstEventAt = undefined;
    void check();
  }

  function onEvent(_event: string, filename: string | Buffer | null): void {
    if (closed) return;
    const name = filename === null ? null : String(filename);
    // null: the platform did not say which entry changed, so it may be ours.
    if (name !== null && !names.has(name) && !name.startsWith('..')) return;
    const now = Date.now();
    firstEventAt ??= now;
    clearTimeout(timer);
    const wait = Math.max(0, Math.min(debounceMs, firstEventAt + maxDelayMs - now));
    timer = setTimeout(fire, wait);
    timer.unref();
  }

  const watchers: FSWatcher[] = [];
  for (const dir of new Set(opts.files.map((f) => dirname(f)))) {
    try {
      const w = watch(dir, { persistent: false }, onEvent);
      w.on('error', (err) => opts.logger.warn({ dir, error: err.message }, `${opts.what} directory watch failed; relying on polling`));
      watchers.push(w);
    } catch (err) {
      opts.logger.warn({ dir, error: (err as Error).message }, `cannot watch the ${opts.what} directory; relying on polling`);
    }
  }
  const poll = setInterval(() => void check(), opts.pollMs ?? 10_000);
  poll.unref();

  return {
    check,
    close() {
      closed = true;
      clearInterval(poll);
      clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}
