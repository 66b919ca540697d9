// The Dockerfile, read as text (no Docker engine here): Node 24 everywhere, a numeric non-root
// user, no devDependencies in the final image, an entrypoint that exists, and the same command
// and port as the Deployment. Plus a .dockerignore that keeps keys and junk out of the context.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { finalStageEnv, imageRuntime } from '../../bench/lib/image-runtime.ts';
import { find, loadObjects, REPO } from './load.ts';

interface Stage {
  from: string;
  name?: string;
  instructions: { op: string; args: string }[];
}

/** Splits a Dockerfile into stages of instructions (continuations joined, comments dropped). */
function parseDockerfile(text: string): Stage[] {
  const logical = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, op, args] = /^(\S+)\s*(.*)$/.exec(line)!;
    if (op.toUpperCase() === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args)!;
      stages.push({ from: m[1], name: m[2], instructions: [] });
    } else {
      stages.at(-1)?.instructions.push({ op: op.toUpperCase(), args });
    }
  }
  return stages;
}

const stages = parseDockerfile(readFileSync(join(REPO, 'Dockerfile'), 'utf8'));
const final = stages.at(-1)!;
const all = (stage: Stage, op: string) => stage.instructions.filter((i) => i.op === op);
const last = (stage: Stage, op: string) => all(stage, op).at(-1)?.args;

t.test('every stage is Node 24', async (t) => {
  t.ok(stages.length >= 2, 'multi-stage');
  for (const s of stages) t.match(s.from, /^(docker\.io\/(library\/)?)?node:24(\.\d+)*(-[a-z0-9.-]+)?(@sha256:[0-9a-f]{64})?$|^gcr\.io\/distroless\/nodejs24-/, s.from);
});

t.test('the final image runs as a numeric non-root user', async (t) => {
  const user = last(final, 'USER');
  t.ok(user, 'USER is set');
  const [uid, gid] = user!.split(':');
  t.match(uid, /^\d+$/, 'numeric, so runAsNonRoot can be verified');
  t.not(Number(uid), 0, 'not root');
  if (gid !== undefined) t.not(Number(gid), 0, 'not the root group');
  const deploy = find(loadObjects(), 'Deployment', 'netguard');
  t.equal(Number(uid), deploy.spec.template.spec.containers[0].securityContext.runAsUser, 'same UID as the Deployment');
});

t.test('no devDependencies in the final image', async (t) => {
  const copies = all(final, 'COPY');
  const modules = copies.find((c) => /node_modules/.test(c.args));
  t.ok(modules, 'node_modules comes from a build stage');
  const fromStage = /--from=(\S+)/.exec(modules!.args)?.[1];
  const source = stages.find((s) => s.name === fromStage);
  t.ok(source, `stage ${fromStage} exists`);
  const runs = all(source!, 'RUN').map((r) => r.args).join(' && ');
  t.ok(/npm ci [^&]*--omit=dev/.test(runs) || (/npm ci\b/.test(runs) && /npm prune [^&]*--omit=dev/.test(runs)), `dev dependencies never installed or pruned: ${runs}`);
  t.notOk(all(final, 'RUN').some((r) => /\bnpm (ci|install|i)\b/.test(r.args)), 'no npm install in the final stage');
  // Only what runs: package.json (for "type": "module"), production node_modules, src, policies.
  const sources = copies.map((c) => c.args.replace(/--\S+\s+/g, '').split(/\s+/).slice(0, -1)).flat();
  t.same(sources.sort(), ['/app/node_modules', 'package.json', 'policies', 'src']);
});

t.test('entrypoint, command and port line up with the repository and the Deployment', async (t) => {
  const entrypoint = JSON.parse(last(final, 'ENTRYPOINT')!);
  t.same(entrypoint, ['node', 'src/cli.ts']);
  t.ok(existsSync(join(REPO, entrypoint[1])), `${entrypoint[1]} exists in the repository`);
  const cmd = JSON.parse(last(final, 'CMD')!);
  const container = find(loadObjects(), 'Deployment', 'netguard').spec.template.spec.containers[0];
  t.same(cmd, container.args, 'the Deployment passes the same arguments as the image default');
  t.equal(last(final, 'EXPOSE'), '8443 9090', 'the webhook port and the metrics port');
  t.match(all(final, 'ENV').map((e) => e.args).join(' '), /NETGUARD_HOST=0\.0\.0\.0/, 'listens on all interfaces in a container');
  t.match(last(final, 'WORKDIR'), /^\//);
});

t.test('.dockerignore keeps keys, git, tests and node_modules out of the build context', async (t) => {
  const lines = readFileSync(join(REPO, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  for (const entry of ['node_modules', '.git', 'certs', 'test']) {
    t.ok(lines.some((l) => l.replace(/^(\*\*\/|\/)/, '').replace(/\/$/, '') === entry), `${entry} is excluded`);
    t.notOk(lines.some((l) => l.startsWith('!') && l.includes(entry)), `${entry} is not re-included`);
  }
  t.notOk(lines.some((l) => /^!?(src|policies|package(-lock)?\.json)\/?$/.test(l) && !l.startsWith('!')), 'what the image needs is not excluded');
});

t.test('the Dockerfile parser sees what it should (so the checks above can fail)', async (t) => {
  const s = parseDockerfile('FROM node:22 AS a\nRUN npm ci \\\n  --omit=dev\nFROM node:24-slim\nUSER node\n');
  t.equal(s.length, 2);
  t.equal(s[0].name, 'a');
  t.equal(s[0].instructions[0].args, 'npm ci    --omit=dev');
  t.notMatch(s[0].from, /^node:24/);
  t.notMatch(s[1].instructions[0].args, /^\d+$/);
});

t.test('the image sets the memory tunables the benchmarks measure it with', async (t) => {
  const runtime = imageRuntime(readFileSync(join(REPO, 'Dockerfile'), 'utf8'));
  t.same(runtime.nodeFlags, ['--max-semi-space-size=8']);
  t.same(runtime.env, { MALLOC_ARENA_MAX: '1', MALLOC_MMAP_THRESHOLD_: '32768', MALLOC_TRIM_THRESHOLD_: '65536' });
  t.equal(finalStageEnv(readFileSync(join(REPO, 'Dockerfile'), 'utf8')).NETGUARD_PORT, '8443', 'and the rest of ENV is read too');
});

t.test('finalStageEnv reads the last stage only, with continuations and quotes', async (t) => {
  const env = finalStageEnv('FROM a AS b\nENV X=1\nFROM c\nENV A=1 \\\n    B="two words" \\\n    C=3\nENV A=4\n');
  t.same(env, { A: '4', B: 'two words', C: '3' });
});
