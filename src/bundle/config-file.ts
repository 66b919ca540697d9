// The policy `netguard check` uses when --policy is not given, found the way linters find their
// configuration: `.netguard.yaml` in the working directory, else at the root of the repository
// it is in (the nearest parent holding .git), else the bundled default. A repository then carries
// its own policy and every developer and pipeline runs with it, with no flag to forget.
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export const CONFIG_FILE = '.netguard.yaml';

/** The config file that applies in `cwd`, or undefined. */
export function findConfigFile(cwd: string, exists: (path: string) => boolean = isFile): string | undefined {
  const here = join(cwd, CONFIG_FILE);
  if (exists(here)) return here;
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    if (existsSync(join(dir, '.git'))) {
      const atRoot = join(dir, CONFIG_FILE);
      return exists(atRoot) ? atRoot : undefined;
    }
    if (dirname(dir) === dir) return undefined;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
