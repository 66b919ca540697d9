#!/usr/bin/env node
// The `netguard` command. Two layouts reach this file:
// - the installed package (npm, npx): no src/, only dist/, the JavaScript that `npm run build`
//   compiles from src/. Plain Node >= 22.19 runs it; type stripping is not involved.
// - a development checkout: src/ is there and runs as TypeScript (Node strips the types), so an
//   edit takes effect at once. dist/ may be there too, but it is whatever the last build left,
//   so a checkout never runs it.
// This file is plain JavaScript so that an old Node gets a clear message, not a syntax error.
import { existsSync } from 'node:fs';

const [major, minor] = process.versions.node.split('.').map(Number);
const root = new URL('../', import.meta.url);
const checkout = existsSync(new URL('src/cli.ts', root));

if (!(major > 22 || (major === 22 && minor >= 19))) {
  process.stderr.write(
    `netguard needs Node >= 22.19 (this is Node ${process.versions.node}).\n` +
      (checkout ? 'From the repository, run it with the Node installed in node_modules: `npx netguard ...` or `npm run check -- ...`.\n' : ''),
  );
  process.exit(2);
}

if (checkout) {
  // process.features.typescript is false when stripping is switched off (--no-experimental-strip-types).
  if (!(process.features && process.features.typescript)) {
    process.stderr.write(
      `netguard needs Node >= 22.19 with type stripping to run from its sources (this is Node ${process.versions.node}, type stripping is switched off).\n` +
        'From the repository, run it with the Node installed in node_modules: `npx netguard ...` or `npm run check -- ...`.\n',
    );
    process.exit(2);
  }
  const { run } = await import('../src/cli.ts');
  await run();
} else {
  const { run } = await import('../dist/cli.js');
  await run();
}
