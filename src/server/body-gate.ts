// Bounds how many request-body bytes netguard holds at once. A review near the 7 MiB body limit
// costs several times its size while it is buffered, decoded and parsed, and the apiserver (or
// anyone who can reach the port) may send many at once: 32 concurrent maximum-size reviews took
// the process to ~500-640 MB, past the pod's 512 MiB limit. So each request reserves its
// Content-Length here before its body is read. One that does not fit waits, and while it waits
// its body stays in the socket (TCP backpressure, not our heap); it is let in as earlier
// requests are answered, or turned away (429 with Retry-After) once it has waited too long.
// Small reviews (kilobytes) fit beside two maximum-size ones and never wait behind them.

export interface BodyGateOptions {
  /** bytes of request bodies that may be read, parsed and evaluated at once */
  budgetBytes: number;
}

export interface Lease {
  /** idempotent: the response's close releases it, whatever path the request took */
  release(): void;
}

export interface BodyGate {
  /**
   * Reserves `bytes`; resolves with a lease once they fit, or undefined after `waitMs` or when
   * `signal` aborts (the client went away). A request larger than the whole budget waits for
   * the whole budget.
   */
  acquire(bytes: number, waitMs: number, signal?: AbortSignal): Promise<Lease | undefined>;
  /** bytes reserved now */
  inUse(): number;
  /** requests waiting now */
  waiting(): number;
}

interface Waiter {
  bytes: number;
  grant(): void;
}

/** Two maximum-size reviews (7 MiB each) plus room for ordinary ones: see README "Failure modes". */
export const DEFAULT_BODY_BUDGET_BYTES = 16 * 1024 * 1024;

export function bodyGate(opts: BodyGateOptions): BodyGate {
  const budget = opts.budgetBytes;
  let used = 0;
  const queue: Waiter[] = [];

  function lease(bytes: number): Lease {
    used += bytes;
    let held = true;
    return {
      release() {
        if (!held) return;
        held = false;
        used -= bytes;
        admit();
      },
    };
  }

  // First fit in arrival order: a small review never waits behind a large one that does not fit yet.
  function admit(): void {
    for (let i = 0; i < queue.length && used < budget; ) {
      if (used + queue[i].bytes <= budget) queue.splice(i, 1)[0].grant();
      else i++;
    }
  }

  return {
    acquire(requested, waitMs, signal) {
      const bytes = Math.min(Math.max(0, requested), budget);
      if (queue.length === 0 && used + bytes <= budget) return Promise.resolve(lease(bytes));
      if (waitMs <= 0 || signal?.aborted) return Promise.resolve(undefined);
      return new Promise((resolve) => {
        const waiter: Waiter = {
          bytes,
          grant() {
            clearTimeout(timer);
            signal?.removeEventListener('abort', give);
            resolve(lease(bytes));
          },
        };
        function give(): void {
          clearTimeout(timer);
          signal?.removeEventListener('abort', give);
          const at = queue.indexOf(waiter);
          if (at !== -1) queue.splice(at, 1);
          resolve(undefined);
        }
        const timer = setTimeout(give, waitMs);
        signal?.addEventListener('abort', give, { once: true });
        queue.push(waiter);
        // It may fit already (only the queue's order held it back).
        admit();
      });
    },
    inUse: () => used,
    waiting: () => queue.length,
  };
}
