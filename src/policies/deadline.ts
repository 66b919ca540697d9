// The evaluation deadline, as rules see it. Rules are synchronous: nothing can pre-empt one,
// so a rule (and the explanation helpers it calls) checks the deadline in its loops, and the
// engine checks it on every cluster lookup. check() reads the clock only every few calls, so
// it costs a counter in a tight loop; past the deadline it throws BudgetExceeded, which the
// engine catches: the rule's partial findings are dropped and the review is answered per
// failOpen, naming the rule that was stopped.
import { performance } from 'node:perf_hooks';
import { NetguardError } from '../errors.ts';

/** Thrown by Deadline.check() once the deadline has passed; the engine catches it. */
export class BudgetExceeded extends NetguardError {
  constructor(overMs: number) {
    super('BUDGET_EXCEEDED', `evaluation budget exceeded by ${Math.round(overMs)}ms`, { overMs });
    this.name = 'BudgetExceeded';
  }
}

export function isBudgetExceeded(err: unknown): err is BudgetExceeded {
  return err instanceof BudgetExceeded;
}

export class Deadline {
  /** performance.now() value past which check() throws; Infinity: never */
  readonly at: number;
  private readonly every: number;
  private calls = 0;

  /** `every`: read the clock on one call in this many (1: every call). */
  constructor(at: number, every = 16) {
    this.at = at;
    this.every = Math.max(1, Math.floor(every));
  }

  /** Throws BudgetExceeded once the deadline has passed (noticed within `every` calls). */
  check(): void {
    if (this.at === Infinity || ++this.calls < this.every) return;
    this.calls = 0;
    const now = performance.now();
    if (now > this.at) throw new BudgetExceeded(now - this.at);
  }

  /** Has the deadline passed? Reads the clock every time. */
  expired(): boolean {
    return this.at !== Infinity && performance.now() > this.at;
  }
}

/** No deadline (`netguard check`, tests): check() never throws. */
export const NO_DEADLINE = new Deadline(Infinity);
