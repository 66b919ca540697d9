// The per-request evaluation budget. The apiserver calls POST /validate?timeout=3s (the webhook's
// timeoutSeconds, as a Go duration) and gives up after that; an answer that arrives later is
// lost and failurePolicy decides instead, with no message for the user. So netguard stops
// evaluating once the budget below that timeout is spent, and answers itself: per failOpen,
// naming the slow rule. Rules are synchronous: a running rule is stopped at its next deadline
// check (src/policies/deadline.ts), and the rules after it do not start. The event loop is
// therefore never held by one review for much longer than its budget (/healthz, the watches).

/** What the apiserver uses when a webhook sets no timeoutSeconds (admissionregistration/v1). */
export const DEFAULT_TIMEOUT_MS = 10_000;
/** timeoutSeconds may be 1 to 30 in the API; anything longer is treated as 30 s. */
export const MAX_TIMEOUT_MS = 30_000;
/** Left for the network, the apiserver's own bookkeeping and our serialisation. */
export const HEADROOM_MS = 500;

export interface EvaluationBudget {
  /** the apiserver's timeout this budget was derived from */
  timeoutMs: number;
  budgetMs: number;
  /** where timeoutMs came from */
  source: 'query' | 'default' | 'invalid';
}

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A Go duration ("10s", "1500ms", "1m30s", "0.5s") in milliseconds; undefined when it does not
 * parse, is negative, or is a bare number other than 0 (Go's time.ParseDuration rules).
 */
export function parseGoDuration(text: string): number | undefined {
  if (typeof text !== 'string' || text.length === 0 || text.length > 64) return undefined;
  let s = text;
  let sign = 1;
  if (s[0] === '+' || s[0] === '-') {
    sign = s[0] === '-' ? -1 : 1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return undefined;
  const part = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;
  let total = 0;
  while (s.length > 0) {
    const m = part.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * UNIT_MS[m[2]];
    s = s.slice(m[0].length);
  }
  const ms = sign * total;
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

/**
 * budget = min(80% of the timeout, timeout − 500 ms), but never under half the timeout:
 * 1s → 500ms, 3s → 2.4s, 10s → 8s, 30s → 24s. No (or an unusable) timeout parameter: the
 * apiserver default of 10 s.
 */
export function evaluationBudget(timeoutParam: unknown): EvaluationBudget {
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  let source: EvaluationBudget['source'] = 'default';
  if (timeoutParam !== undefined) {
    const parsed = typeof timeoutParam === 'string' ? parseGoDuration(timeoutParam) : undefined;
    if (parsed !== undefined && parsed > 0) {
      timeoutMs = Math.min(parsed, MAX_TIMEOUT_MS);
      source = 'query';
    } else {
      source = 'invalid';
    }
  }
  const budgetMs = Math.max(Math.min(timeoutMs * 0.8, timeoutMs - HEADROOM_MS), timeoutMs / 2);
  return { timeoutMs, budgetMs, source };
}

/** "1s", "2.4s", "500ms": for messages. */
export function formatMs(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10}s` : `${Math.round(ms)}ms`;
}
