// The CLI's shared argument vocabulary: namespaces, output specs. Parsing itself is src/args.ts.
import { didYouMean } from '../args.ts';
import { NetguardError } from '../errors.ts';

export { parseCommandArgs } from '../args.ts';

/** Kubernetes namespace names are DNS-1123 labels. */
export function isNamespaceName(s: string): boolean {
  return s.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(s);
}

/** Where one report goes: stdout, or a file (FORMAT=PATH). */
export interface OutputSpec<F extends string = string> {
  format: F;
  /** undefined: stdout */
  path?: string;
}

/**
 * `-o FORMAT` or `-o FORMAT=PATH`, repeatable: `-o text -o sarif=reports/netguard.sarif`.
 * At most one report can go to stdout (two would interleave into something no tool parses),
 * and two reports cannot share a file. `FORMAT=-` is stdout, as `-f -` is stdin.
 */
export function parseOutputSpecs<F extends string>(values: readonly string[], formats: readonly F[], fallback: F): OutputSpec<F>[] {
  if (values.length === 0) return [{ format: fallback }];
  const specs = values.map((v): OutputSpec<F> => {
    const eq = v.indexOf('=');
    const format = (eq < 0 ? v : v.slice(0, eq)) as F;
    const path = eq < 0 ? undefined : v.slice(eq + 1);
    if (!formats.includes(format)) {
      throw new NetguardError('USAGE', `unknown output format ${format || '(empty)'} in -o ${v}; use ${formats.join(', ')} (optionally FORMAT=PATH)${didYouMean(format, formats)}`);
    }
    if (path === '') throw new NetguardError('USAGE', `-o ${v}: no file after "="; write -o ${format}=PATH, or -o ${format} for stdout`);
    return path === undefined || path === '-' ? { format } : { format, path };
  });
  const toStdout = specs.filter((s) => s.path === undefined);
  if (toStdout.length > 1) {
    throw new NetguardError('USAGE', `only one report can go to stdout, got ${toStdout.map((s) => s.format).join(' and ')}; send the others to files (-o ${toStdout[1].format}=PATH)`);
  }
  const seen = new Set<string>();
  for (const s of specs) {
    if (s.path === undefined) continue;
    if (seen.has(s.path)) throw new NetguardError('USAGE', `two reports would be written to ${s.path}; give each -o its own file`);
    seen.add(s.path);
  }
  return specs;
}

/** A value from a fixed set, with the set named in the error. */
export function oneOf<T extends string>(option: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) throw new NetguardError('USAGE', `${option} ${value}: use one of ${allowed.join(', ')}${didYouMean(value, allowed)}`);
  return value as T;
}
