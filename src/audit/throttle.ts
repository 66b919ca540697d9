// Two small brakes the audit's outputs share: a token bucket (how many writes per second, with a
// burst) and "say it once per period" for logs, so a flapping object cannot flood etcd and a
// refused write cannot flood the log.

export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly capacity: number;
  private readonly perSecond: number;
  private readonly now: () => number;

  constructor(capacity: number, perSecond: number, now: () => number = Date.now) {
    this.capacity = capacity;
    this.perSecond = perSecond;
    this.tokens = capacity;
    this.now = now;
    this.last = now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((t - this.last) / 1000) * this.perSecond);
    this.last = t;
  }

  /** Takes a token if there is one. */
  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until a token is there (0: now). */
  waitMs(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.perSecond) * 1000);
  }
}

/** True the first time a key is seen in each period: for "logged once per period". */
export class OncePerPeriod {
  private readonly seen = new Map<string, number>();
  private readonly periodMs: number;
  private readonly now: () => number;

  constructor(periodMs: number, now: () => number = Date.now) {
    this.periodMs = periodMs;
    this.now = now;
  }

  /** Whether to say it now: the first time in each period for this key. */
  due(key: string): boolean {
    const t = this.now();
    const at = this.seen.get(key);
    if (at !== undefined && t - at < this.periodMs) return false;
    // Bounded: keys are reasons and outputs, but never let the table grow without end.
    if (this.seen.size > 1000) this.seen.clear();
    this.seen.set(key, t);
    return true;
  }
}
