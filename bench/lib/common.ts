// What every benchmark shares: its command line (--quick, --results DIR), the machine it ran
// on, percentiles and medians, markdown tables, and bench/results/<name>.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = join(REPO_ROOT, 'bin', 'netguard.js');
export const DEFAULT_RESULTS_DIR = join(REPO_ROOT, 'bench', 'results');

export interface BenchArgs {
  /** tiny sizes and short runs: the smoke test's mode; the numbers mean nothing */
  quick: boolean;
  resultsDir: string;
  /** the benchmarks named (bench/run.ts), with option values already taken out */
  names: string[];
}

export function benchArgs(argv: readonly string[] = process.argv.slice(2)): BenchArgs {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: false,
    options: { quick: { type: 'boolean', default: false }, results: { type: 'string' } },
  });
  return { quick: values.quick === true, resultsDir: typeof values.results === 'string' ? values.results : DEFAULT_RESULTS_DIR, names: positionals };
}

export interface Machine {
  cores: number;
  cpu: string;
  memoryGB: number;
  node: string;
  platform: string;
}

export function machine(): Machine {
  return {
    cores: availableParallelism(),
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

export function describeMachine(m: Machine = machine()): string {
  return `${m.cores} cores (${m.cpu}), ${m.memoryGB} GB, Node ${m.node}, ${m.platform}`;
}

export interface Summary {
  n: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles of unsorted samples (any unit). */
export function summarize(samples: ArrayLike<number>): Summary {
  const s = Float64Array.from(samples as ArrayLike<number>).sort();
  const n = s.length;
  if (n === 0) return { n, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  const at = (p: number) => s[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))];
  let sum = 0;
  for (const x of s) sum += x;
  return { n, mean: sum / n, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: s[n - 1] };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** A markdown table; columns whose header starts with '>' are right-aligned (the '>' is dropped). */
export function table(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const right = headers.map((h) => h.startsWith('>'));
  const names = headers.map((h) => (h.startsWith('>') ? h.slice(1) : h));
  const cells = rows.map((r) => r.map(String));
  const lines = [
    `| ${names.join(' | ')} |`,
    `|${right.map((r) => (r ? '---:' : '---')).join('|')}|`,
    ...cells.map((r) => `| ${r.join(' | ')} |`),
  ];
  return lines.join('\n');
}

export function writeResult(args: BenchArgs, name: string, data: Record<string, unknown>): string {
  mkdirSync(args.resultsDir, { recursive: true });
  const file = join(args.resultsDir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ benchmark: name, quick: args.quick, machine: machine(), finishedAt: new Date().toISOString(), ...data }, null, 2) + '\n');
  return file;
}

/** Prints the heading every benchmark starts with. */
export function header(title: string, args: BenchArgs): void {
  console.log(`\n## ${title}${args.quick ? ' (--quick: tiny sizes, numbers are meaningless)' : ''}\n`);
  console.log(`machine: ${describeMachine()}\n`);
}

// ---- formatting ------------------------------------------------------------------------------
export const fmt = {
  ms: (ms: number, digits = 2) => `${ms.toFixed(digits)} ms`,
  us: (ns: number) => `${(ns / 1000).toFixed(2)} µs`,
  mb: (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`,
  bytes: (b: number) => `${Math.round(b)} B`,
  int: (n: number) => Math.round(n).toLocaleString('en'),
  ratio: (r: number) => `${r.toFixed(2)}×`,
  x: (r: number) => `${r >= 100 ? Math.round(r) : r.toFixed(1)}×`,
  s: (ms: number) => `${(ms / 1000).toFixed(2)} s`,
};

/** "✅ met" / "❌ not met" for a target line. */
export function verdict(met: boolean): string {
  return met ? 'met' : 'NOT met';
}

/** Full collections with turns of the event loop between them (finished sockets and promises become garbage only once their callbacks ran). */
export async function collectGarbage(rounds = 4): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  for (let i = 0; i < rounds; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 30));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A bound for Promise.race that never keeps the process alive on its own. */
export function deadline(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

/** Polls until `cond` holds; a bound against hangs, not a measurement. */
export async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
