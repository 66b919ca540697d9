// How hard the property tests push. `npm test` runs them with a fixed seed and few runs, so a
// failure there is reproducible and the suite stays fast; `npm run fuzz` (scripts/fuzz.ts) sets
// NETGUARD_FUZZ_FACTOR (a multiplier over each property's run count) to something large and
// NETGUARD_FUZZ_SEED to a fresh random seed, which it prints first so a failure can be replayed:
//   NETGUARD_FUZZ_SEED=<seed> NETGUARD_FUZZ_FACTOR=<factor> npx tap test/fuzz/<file>.test.ts
// fast-check prints the seed, path and shrunk counterexample of a failure itself.
import type { Parameters } from 'fast-check';

/** The fixed seed of `npm test`: change it only together with a reason in the commit. */
export const DEFAULT_SEED = 20240607;

function intFromEnv(name: string): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!Number.isInteger(n)) throw new Error(`${name} must be an integer, got "${text}"`);
  return n;
}

export const SEED = intFromEnv('NETGUARD_FUZZ_SEED') ?? DEFAULT_SEED;
/** A multiplier over each property's own run count (1 in `npm test`). */
export const FACTOR = Math.max(1, intFromEnv('NETGUARD_FUZZ_FACTOR') ?? 1);
export const LONG_MODE = FACTOR > 1;

/** fast-check parameters for a property whose `npm test` budget is `runs`. */
export function fuzzParams<T>(runs: number, extra: Parameters<T> = {}): Parameters<T> {
  return { seed: SEED, numRuns: Math.max(1, Math.round(runs * FACTOR)), includeErrorInReport: true, ...extra };
}
