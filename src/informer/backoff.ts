// Capped exponential backoff with jitter. Jitter matters: after an apiserver restart every
// replica of every controller reconnects at once, and synchronized retries keep it down.
export interface BackoffOptions {
  baseMs?: number;
  capMs?: number;
  /** upper bound for a server's Retry-After, so a bad header cannot park us for hours */
  maxRetryAfterMs?: number;
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  private readonly baseMs: number;
  private readonly capMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly random: () => number;

  constructor(opts: BackoffOptions = {}) {
    this.baseMs = opts.baseMs ?? 1000;
    this.capMs = opts.capMs ?? 30_000;
    this.maxRetryAfterMs = opts.maxRetryAfterMs ?? 120_000;
    this.random = opts.random ?? Math.random;
  }

  /** The next delay: half fixed, half random ("equal jitter"), at least Retry-After when given. */
  next(retryAfterMs?: number): number {
    const ceiling = Math.min(this.capMs, this.baseMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    const delay = ceiling / 2 + this.random() * (ceiling / 2);
    if (retryAfterMs === undefined) return Math.round(delay);
    return Math.round(Math.max(delay, Math.min(retryAfterMs, this.maxRetryAfterMs)));
  }

  reset(): void {
    this.attempt = 0;
  }
}
