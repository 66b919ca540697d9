#!/usr/bin/env node
// netguard runs its TypeScript sources directly: Node strips the types itself (no build step).
// That needs Node >= 22.18 or >= 23.6; this file is plain JavaScript so that an older Node
// gets a clear message instead of a syntax error from a .ts file.
const [major, minor] = process.versions.node.split('.').map(Number);
const versionOk = major > 23 || (major === 23 && minor >= 6) || (major === 22 && minor >= 18);
// process.features.typescript is false when stripping is switched off (--no-experimental-strip-types).
const strippingOn = Boolean(process.features && process.features.typescript);

if (!versionOk || !strippingOn) {
  process.stderr.write(
    `netguard needs Node >= 22.19 with type stripping (this is Node ${process.versions.node}` +
      `${versionOk ? ', type stripping is switched off' : ''}).\n` +
      'From the repository, run it with the Node installed in node_modules: `npx netguard ...` or `npm run check -- ...`.\n',
  );
  process.exit(2);
}

try {
  const { run } = await import('../src/cli.ts');
  await run();
} catch (err) {
  // Node refuses to strip types under node_modules: netguard installed as a dependency cannot run.
  if (err && err.code === 'ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING') {
    process.stderr.write('netguard cannot run from node_modules (Node does not strip types there); run it from a checkout of the repository.\n');
    process.exit(2);
  }
  throw err;
}
