// `netguard version`: netguard's version (package.json) and the Node.js running it, the two facts
// a bug report needs. `netguard --version` stays the bare version number, for scripts.
import { isNetguardError } from '../errors.ts';
import { parseCommandArgs } from './args.ts';
import { version } from './output/build-report.ts';

export interface VersionIO {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

export const VERSION_USAGE = `Usage: netguard version

Prints netguard's version and the Node.js version running it.
'netguard --version' prints the version number alone.

  -h, --help   show this help
`;

const OPTIONS = { help: { type: 'boolean', short: 'h' } } as const;

const defaultIO = (): VersionIO => ({ stdout: process.stdout, stderr: process.stderr });

export function versionText(netguard: string = version(), node: string = process.version): string {
  return `netguard ${netguard}\nNode.js ${node}\n`;
}

export async function runVersion(argv: readonly string[], io: VersionIO = defaultIO()): Promise<number> {
  let parsed;
  try {
    parsed = parseCommandArgs(argv, OPTIONS);
  } catch (err) {
    if (!isNetguardError(err, 'USAGE')) throw err;
    io.stderr.write(`netguard version: ${err.message}\nRun 'netguard version --help' for usage.\n`);
    return 2;
  }
  if (parsed.values.help) {
    io.stdout.write(VERSION_USAGE);
    return 0;
  }
  if (parsed.positionals.length > 0) {
    io.stderr.write(`netguard version: takes no arguments, got ${parsed.positionals.join(' ')}\nRun 'netguard version --help' for usage.\n`);
    return 2;
  }
  io.stdout.write(versionText());
  return 0;
}
