// The Dockerfile, read as text (no Docker engine here): a build stage that compiles dist/, a
// distroless Node 24 runtime pinned by digest (the Node major the tests run on), a numeric
// non-root user, production dependencies only, OCI labels, an entrypoint that the build
// produces, and the same command and port as the Deployment. Plus a .dockerignore that keeps
// keys and junk out of the context.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { finalStageEnv, imageRuntime } from '../../bench/lib/image-runtime.ts';
import { find, loadObjects, REPO } from './load.ts';

interface Stage {
  /** the image as written, e.g. ${RUNTIME_IMAGE} */
  from: string;
  /** the image with the global ARG defaults substituted */
  image: string;
  platform?: string;
  name?: string;
  instructions: { op: string; args: string }[];
}

interface Dockerfile {
  /** ARGs declared before the first FROM, with their defaults */
  globalArgs: Record<string, string>;
  /** the comment lines right above each global ARG */
  argComments: Record<string, string>;
  stages: Stage[];
}

/** Splits a Dockerfile into global ARGs and stages of instructions (continuations joined, comments dropped). */
function parseDockerfile(text: string): Dockerfile {
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/).map((l) => l.trim());
  const globalArgs: Record<string, string> = {};
  const argComments: Record<string, string> = {};
  const stages: Stage[] = [];
  let comments: string[] = [];
  for (const line of lines) {
    if (line.startsWith('#')) {
      comments.push(line.replace(/^#\s?/, ''));
      continue;
    }
    if (!line) {
      comments = [];
      continue;
    }
    const [, op, args] = /^(\S+)\s*(.*)$/.exec(line)!;
    if (op.toUpperCase() === 'FROM') {
      const m = /^(?:--platform=(\S+)\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args)!;
      const image = m[2].replace(/\$\{?(\w+)\}?/g, (_, name: string) => globalArgs[name] ?? `\${${name}}`);
      stages.push({ from: m[2], image, platform: m[1], name: m[3], instructions: [] });
    } else if (stages.length === 0 && op.toUpperCase() === 'ARG') {
      const [name, value = ''] = args.split('=', 2);
      globalArgs[name] = value;
      argComments[name] = comments.join('\n');
    } else {
      stages.at(-1)?.instructions.push({ op: op.toUpperCase(), args });
    }
    comments = op.toUpperCase() === 'ARG' ? comments : [];
  }
  return { globalArgs, argComments, stages };
}

/** The Node major of a Node base image: node:24..., gcr.io/distroless/nodejs24-... */
function nodeMajor(image: string): number | undefined {
  const m = /^(?:docker\.io\/(?:library\/)?)?node:(\d+)\b|^gcr\.io\/distroless\/nodejs(\d+)-/.exec(image);
  return m ? Number(m[1] ?? m[2]) : undefined;
}

const PIN = /^[a-z0-9.-]+(?:\/[a-z0-9._-]+)*:[A-Za-z0-9._-]+@sha256:[0-9a-f]{64}$/;

const dockerfileText = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
const dockerfile = parseDockerfile(dockerfileText);
const { stages } = dockerfile;
const final = stages.at(-1)!;
const all = (stage: Stage, op: string) => stage.instructions.filter((i) => i.op === op);
const last = (stage: Stage, op: string) => all(stage, op).at(-1)?.args;
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
const deployment = find(loadObjects(), 'Deployment', 'netguard');
const container = deployment.spec.template.spec.containers[0];

t.test('every stage is the Node major the tests run on', async (t) => {
  t.ok(stages.length >= 2, 'multi-stage');
  const testedMajor = Number(/\d+/.exec(pkg.devDependencies.node)![0]);
  t.equal(testedMajor, Number(process.versions.node.split('.')[0]), 'the tests run on the node devDependency');
  for (const s of stages) t.equal(nodeMajor(s.image), testedMajor, `${s.image}: Node ${testedMajor}`);
});

t.test('base images are pinned by digest through build arguments, with how to refresh them', async (t) => {
  for (const s of stages) {
    const arg = /^\$\{?(\w+)\}?$/.exec(s.from)?.[1];
    t.ok(arg, `FROM ${s.from} is a build argument, so a release can pass a freshly resolved digest`);
    if (!arg) continue;
    t.match(dockerfile.globalArgs[arg], PIN, `${arg} defaults to name:tag@sha256:<64 hex>`);
    const comment = dockerfile.argComments[arg];
    t.match(comment, /crane digest|imagetools inspect/, `${arg}: the comment says how to resolve the digest`);
    t.match(comment, /verify/i, `${arg}: and that it must be verified at release time`);
  }
});

t.test('the runtime is distroless: no shell, no package manager', async (t) => {
  t.match(final.image, /^gcr\.io\/distroless\/nodejs\d+-debian\d+:nonroot@/, final.image);
  t.notOk(all(final, 'RUN').length, 'nothing runs in the final stage (there is no shell to run it)');
  const [node, script] = JSON.parse(last(final, 'ENTRYPOINT')!);
  t.equal(node, '/nodejs/bin/node', 'node by absolute path: distroless has no shell and node is not on its PATH');
  t.equal(script, 'dist/cli.js');
});

t.test('the build stage compiles dist/ on the build platform and keeps production dependencies only', async (t) => {
  const build = stages.find((s) => s !== final && all(s, 'RUN').some((r) => /npm run build/.test(r.args)));
  t.ok(build, 'a stage runs npm run build');
  if (!build) return;
  t.equal(build.platform, '$BUILDPLATFORM', 'dist/ is JavaScript: built once, natively, for every target architecture');
  const runs = all(build, 'RUN').map((r) => r.args).join(' && ');
  t.match(runs, /npm ci\b[^&]*--ignore-scripts/, 'npm ci without install scripts (no second Node from the `node` devDependency)');
  t.ok(runs.indexOf('npm ci') < runs.indexOf('npm run build'), 'installs before it builds');
  t.match(pkg.scripts.build, /tsc -p tsconfig\.build\.json/, 'npm run build is the tsconfig.build.json compile');
  const copied = all(build, 'COPY').flatMap((c) => c.args.split(/\s+/).slice(0, -1));
  for (const needed of ['tsconfig.json', 'tsconfig.build.json', 'src', 'package-lock.json']) t.ok(copied.includes(needed), `${needed} is copied into the build`);
});

t.test('the final image runs as a numeric non-root user', async (t) => {
  const user = last(final, 'USER');
  t.ok(user, 'USER is set');
  const [uid, gid] = user!.split(':');
  t.match(uid, /^\d+$/, 'numeric, so runAsNonRoot can be verified');
  t.not(Number(uid), 0, 'not root');
  if (gid !== undefined) t.not(Number(gid), 0, 'not the root group');
  t.equal(Number(uid), container.securityContext.runAsUser, 'same UID as the Deployment');
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
  t.ok(runs.lastIndexOf('npm prune') > runs.lastIndexOf('npm run build') || !/npm prune/.test(runs), 'pruned after the build that needed them');
  t.notOk(all(final, 'RUN').some((r) => /\bnpm (ci|install|i)\b/.test(r.args)), 'no npm install in the final stage');
  // Only what runs: package.json ("type": "module", the version), production node_modules, dist, policies.
  const sources = copies.map((c) => c.args.replace(/--\S+\s+/g, '').split(/\s+/).slice(0, -1)).flat();
  t.same(sources.sort(), ['/build/dist', '/build/node_modules', 'docs', 'package.json', 'policies']);
});

t.test('OCI labels: source, version, revision, licence', async (t) => {
  const labels: Record<string, string> = {};
  for (const l of all(final, 'LABEL')) for (const m of l.args.matchAll(/([\w.-]+)="([^"]*)"/g)) labels[m[1]] = m[2];
  const repoUrl = pkg.repository.url.replace(/^git\+/, '').replace(/\.git$/, '');
  t.equal(labels['org.opencontainers.image.source'], repoUrl, 'source is the repository package.json names');
  t.equal(labels['org.opencontainers.image.licenses'], pkg.license, 'the licence package.json names');
  t.equal(labels['org.opencontainers.image.version'], '${VERSION}', 'version from a build argument');
  t.equal(labels['org.opencontainers.image.revision'], '${REVISION}', 'revision from a build argument');
  t.ok(labels['org.opencontainers.image.title'] && labels['org.opencontainers.image.description'], 'title and description');
  const stageArgs = all(final, 'ARG').map((a) => a.args.split('=')[0]);
  t.ok(stageArgs.includes('VERSION') && stageArgs.includes('REVISION'), 'VERSION and REVISION are declared in the final stage (ARGs do not cross FROM)');
});

t.test('entrypoint, command and port line up with the build and the Deployment', async (t) => {
  const [, script] = JSON.parse(last(final, 'ENTRYPOINT')!);
  // dist/ mirrors src/ (tsconfig.build.json: rootDir src, outDir dist), so the source must exist.
  const build = JSON.parse(readFileSync(join(REPO, 'tsconfig.build.json'), 'utf8').replace(/^\s*\/\/.*$/gm, ''));
  t.same([build.compilerOptions.rootDir, build.compilerOptions.outDir], ['src', 'dist']);
  const source = script.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts');
  t.ok(existsSync(join(REPO, source)), `${script} is compiled from ${source}, which exists`);
  const cmd = JSON.parse(last(final, 'CMD')!);
  t.same(cmd, container.args, 'the Deployment passes the same arguments as the image default');
  t.equal(last(final, 'EXPOSE'), '8443 9090', 'the webhook port and the metrics port');
  t.match(all(final, 'ENV').map((e) => e.args).join(' '), /NETGUARD_HOST=0\.0\.0\.0/, 'listens on all interfaces in a container');
  t.match(last(final, 'WORKDIR'), /^\//);
});

t.test('the Deployment asks nothing of the image that a distroless image lacks', async (t) => {
  const [node] = JSON.parse(last(final, 'ENTRYPOINT')!);
  const preStop = container.lifecycle.preStop;
  t.ok(preStop.sleep, 'preStop uses the kubelet sleep action');
  t.notOk(preStop.exec, 'no exec hook (no shell, no sleep binary)');
  for (const probe of ['readinessProbe', 'livenessProbe']) t.notOk(container[probe].exec, `${probe} is not an exec probe`);
  // Comments that suggest an exec command must name a binary the image has.
  const text = readFileSync(join(REPO, 'manifests/base/deployment.yaml'), 'utf8');
  for (const m of text.matchAll(/exec \["([^"]+)"/g)) t.equal(m[1], node, `the comment's exec ["${m[1]}", ...] names the image's node`);
});

t.test('.dockerignore keeps keys, git, tests, node_modules and dist out of the build context', async (t) => {
  const lines = readFileSync(join(REPO, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  for (const entry of ['node_modules', '.git', 'certs', 'test', 'dist']) {
    t.ok(lines.some((l) => l.replace(/^(\*\*\/|\/)/, '').replace(/\/$/, '') === entry), `${entry} is excluded`);
    t.notOk(lines.some((l) => l.startsWith('!') && l.includes(entry)), `${entry} is not re-included`);
  }
  t.notOk(lines.some((l) => /^(src|policies|package(-lock)?\.json|tsconfig[\w.]*\.json|\*\.json)\/?$/.test(l)), 'what the build needs is not excluded');
});

t.test('the Dockerfile parser sees what it should (so the checks above can fail)', async (t) => {
  const d = parseDockerfile('# how\n# verify it\nARG BASE=node:22@sha256:abc\nFROM --platform=$BUILDPLATFORM ${BASE} AS a\nRUN npm ci \\\n  --omit=dev\nFROM node:24-slim\nUSER node\n');
  t.equal(d.stages.length, 2);
  t.same(d.globalArgs, { BASE: 'node:22@sha256:abc' });
  t.equal(d.argComments.BASE, 'how\nverify it');
  t.equal(d.stages[0].image, 'node:22@sha256:abc');
  t.equal(d.stages[0].platform, '$BUILDPLATFORM');
  t.equal(d.stages[0].name, 'a');
  t.equal(d.stages[0].instructions[0].args, 'npm ci    --omit=dev');
  t.equal(nodeMajor(d.stages[0].image), 22);
  t.notMatch(d.globalArgs.BASE, PIN, 'a short digest is not a pin');
  t.notMatch(d.stages[1].instructions[0].args, /^\d+$/);
  t.equal(nodeMajor('gcr.io/distroless/nodejs22-debian12:nonroot'), 22);
  t.equal(nodeMajor('alpine:3'), undefined);
});

t.test('the image sets the memory tunables the benchmarks measure it with', async (t) => {
  const runtime = imageRuntime(dockerfileText);
  t.same(runtime.nodeFlags, ['--max-semi-space-size=8']);
  t.same(runtime.env, { MALLOC_ARENA_MAX: '1', MALLOC_MMAP_THRESHOLD_: '32768', MALLOC_TRIM_THRESHOLD_: '65536' });
  t.equal(finalStageEnv(dockerfileText).NETGUARD_PORT, '8443', 'and the rest of ENV is read too');
  t.match(final.image, /debian/, 'MALLOC_* are glibc tunables: the runtime is glibc-based (not musl/alpine)');
});

t.test('finalStageEnv reads the last stage only, with continuations and quotes', async (t) => {
  const env = finalStageEnv('FROM a AS b\nENV X=1\nFROM c\nENV A=1 \\\n    B="two words" \\\n    C=3\nENV A=4\n');
  t.same(env, { A: '4', B: 'two words', C: '3' });
});
