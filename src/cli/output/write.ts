// Sends each report where `-o` said: files first (parent folders created, written through a
// temporary file so a killed job never leaves half a SARIF for the upload step), stdout last,
// so a file that cannot be written fails the run before anything looks finished.
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ioReason } from '../../bundle/manifests.ts';
import { NetguardError } from '../../errors.ts';
import type { OutputSpec } from '../args.ts';

export function writeReports<F extends string>(
  specs: readonly OutputSpec<F>[],
  render: (format: F, toStdout: boolean) => string,
  stdout: { write(s: string): unknown },
): { written: OutputSpec<F>[] } {
  const written: OutputSpec<F>[] = [];
  for (const spec of specs) {
    if (spec.path === undefined) continue;
    writeFileAtomic(spec.path, render(spec.format, false), `the ${spec.format} report`);
    written.push(spec);
  }
  for (const spec of specs) if (spec.path === undefined) stdout.write(render(spec.format, true));
  return { written };
}

export function writeFileAtomic(path: string, content: string, what: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(tmp, content);
    renameSync(tmp, path);
  } catch (err) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // the folder itself is unusable: nothing was left there
    }
    throw new NetguardError('OUTPUT_WRITE', `cannot write ${what} to ${path}: ${ioReason(err)}`, { file: path }, { cause: err });
  }
}
