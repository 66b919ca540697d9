// The release workflow cannot run here (no GitHub, no registry), so it is read: the trigger, the
// jobs and steps a release needs, the same test command as .ci/run, actions pinned, and the
// image and build arguments it uses matching the Dockerfile and the manifests. The one step
// that can run here, rendering the install file, is run.
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parseAllDocuments, parseDocument } from 'yaml';
import { find, kustomize, loadObjects, REPO } from './load.ts';

const WORKFLOW = join(REPO, '.github/workflows/release.yml');
const doc = parseDocument(readFileSync(WORKFLOW, 'utf8'));
const workflow = doc.toJS();
const jobs: Record<string, any> = workflow.jobs;
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
const dockerfile = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
const deploymentImage: string = find(loadObjects(), 'Deployment', 'netguard').spec.template.spec.containers[0].image;
const imageName = deploymentImage.replace(/:[^:/]+$/, '');

const steps = (job: string): any[] => jobs[job]?.steps ?? [];
const uses = (job: string, action: string) => steps(job).find((s) => typeof s.uses === 'string' && s.uses.split('@')[0] === action);
const runs = (job: string) => steps(job).map((s) => s.run).filter(Boolean).join('\n');
const needs = (job: string): string[] => [jobs[job]?.needs ?? []].flat();

t.test('the workflow parses cleanly', async (t) => {
  t.same(doc.errors, []);
  t.same(doc.warnings, []);
});

t.test('triggered by version tags only', async (t) => {
  t.same(Object.keys(workflow.on), ['push'], 'no branch pushes, no pull requests');
  t.same(workflow.on.push.tags, ['v*']);
  t.notOk(workflow.on.push.branches, 'tags only');
  t.same(workflow.permissions, { contents: 'read' }, 'least privilege by default; jobs ask for more');
});

t.test('it tests with the same command as CI, and checks the tag against package.json', async (t) => {
  const ciRun = readFileSync(join(REPO, '.ci/run'), 'utf8');
  t.match(ciRun, /^npm test$/m, '.ci/run runs npm test');
  t.match(ciRun, /^npm run test:package$/m, 'and the package smoke test');
  t.match(ciRun, /^npm run test:slow$/m, 'and the slow tests');
  t.match(ciRun, /^\s*npm run test:corpus$/m, 'and the corpus check');
  t.ok(statSync(join(REPO, '.ci/run')).mode & 0o100, '.ci/run is executable');
  t.ok(steps('test').some((s) => s.run === '.ci/run'), 'the test job runs .ci/run itself, not a copy of it');
  t.match(runs('test'), /package\.json/);
  t.match(runs('test'), /GITHUB_REF_NAME/, 'a tag that disagrees with package.json fails the release');
  for (const job of ['image', 'npm']) t.ok(needs(job).includes('test'), `${job} waits for the tests`);
  t.ok(needs('release').includes('image') && needs('release').includes('npm'), 'the release is created last');
});

t.test('every action is pinned to at least a major version', async (t) => {
  const all = Object.values(jobs).flatMap((j: any) => j.steps ?? []).filter((s: any) => s.uses);
  t.ok(all.length > 0);
  for (const s of all) t.match(s.uses, /^[\w.-]+\/[\w./-]+@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$/, s.uses);
});

t.test('image: multi-arch, pushed to ghcr.io, SBOM, signed with cosign keyless', async (t) => {
  t.equal(workflow.env.IMAGE, imageName, 'the image the manifests run');
  t.match(imageName, /^ghcr\.io\//);
  t.match(jobs.image.permissions, { packages: 'write', 'id-token': 'write' }, 'push, and an OIDC token for keyless signing');
  t.ok(uses('image', 'docker/setup-buildx-action'), 'buildx');
  t.equal(uses('image', 'docker/login-action')?.with.registry, 'ghcr.io');
  const build = uses('image', 'docker/build-push-action');
  t.ok(build, 'build-push-action');
  const platforms = String(build.with.platforms).split(',').map((p) => p.trim()).sort();
  t.same(platforms, ['linux/amd64', 'linux/arm64']);
  t.equal(build.with.push, true);
  t.ok(build.with.sbom === true || /^(true|generator=)/.test(String(build.with.sbom)), 'an SBOM is attached');
  t.match(build.with.tags, /^\$\{\{ env\.IMAGE \}\}:\$\{\{ needs\.test\.outputs\.version \}\}$/);
  // Every build argument passed is one the Dockerfile declares, and the base image ones are passed.
  const passed = String(build.with['build-args']).split('\n').map((l) => l.trim().split('=')[0]).filter(Boolean);
  const declared = [...dockerfile.matchAll(/^ARG (\w+)/gm)].map((m) => m[1]);
  for (const arg of passed) t.ok(declared.includes(arg), `build-arg ${arg} is declared in the Dockerfile`);
  for (const arg of ['BUILD_IMAGE', 'RUNTIME_IMAGE', 'VERSION', 'REVISION']) t.ok(passed.includes(arg), `${arg} is passed`);
  t.match(runs('image'), /imagetools inspect/, 'base image digests are resolved at release time');
  t.ok(uses('image', 'sigstore/cosign-installer'), 'cosign is installed');
  t.match(runs('image'), /cosign sign --yes "\$IMAGE@\$\{\{ steps\.build\.outputs\.digest \}\}"/, 'the pushed digest is signed, not a tag');
  t.notMatch(runs('image'), /--key\b/, 'keyless: no signing key to keep');
});

t.test('npm: published with provenance', async (t) => {
  t.match(jobs.npm.permissions, { 'id-token': 'write' });
  t.equal(uses('npm', 'actions/setup-node')?.with['registry-url'], 'https://registry.npmjs.org');
  t.match(runs('npm'), /^npm publish\b.*--provenance/m);
  t.match(pkg.scripts.prepack, /npm run build/, 'publishing builds dist/ first');
  t.notOk(pkg.private, 'package.json is publishable');
  t.match(pkg.repository?.url, /github\.com\/netguard\/netguard/, 'provenance needs repository.url to name the repository');
});

t.test('release: one install file, the image pinned by digest', async (t) => {
  t.match(jobs.release.permissions, { contents: 'write' });
  t.match(runs('release'), /scripts\/render-install\.sh "\$IMAGE@\$\{\{ needs\.image\.outputs\.digest \}\}" > netguard-install\.yaml/);
  t.match(runs('release'), /gh release create "\$GITHUB_REF_NAME" netguard-install\.yaml/);
  t.equal(jobs.image.outputs.digest, '${{ steps.build.outputs.digest }}', 'the digest comes from the build step');
});

t.test('the manifests run the version package.json names', async (t) => {
  t.equal(deploymentImage, `${imageName}:${pkg.version}`, 'bump manifests/base/deployment.yaml with package.json (README: Releasing)');
});

const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;
const render = (...args: string[]) => spawnSync('bash', [join(REPO, 'scripts/render-install.sh'), ...args], { encoding: 'utf8' });

t.test('render-install.sh: manifests/ with the image pinned by digest', async (t) => {
  const plain = kustomize(join(REPO, 'manifests'));
  if ('skip' in plain) return t.pass('render-install.sh', { skip: plain.skip });
  if ('error' in plain) return t.fail(plain.error);
  const r = render(`${imageName}:${pkg.version}@${DIGEST}`);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, new RegExp(`^# netguard ${pkg.version.replace(/\./g, '\\.')}:`), 'a header says what it is');
  const objects = parseAllDocuments(r.stdout).map((d) => d.toJS()).filter(Boolean);
  const deploy = objects.find((o) => o.kind === 'Deployment');
  t.equal(deploy.spec.template.spec.containers[0].image, `${imageName}@${DIGEST}`, 'the tag is replaced by the digest');
  deploy.spec.template.spec.containers[0].image = deploymentImage;
  t.same(objects, plain.objects, 'everything else is exactly kubectl kustomize manifests/');
  const moved = render(`registry.example:5000/team/netguard@${DIGEST}`);
  t.match(moved.stdout, new RegExp(`image: registry\\.example:5000/team/netguard@${DIGEST}$`, 'm'), 'a registry port is not mistaken for a tag');
  for (const bad of [[], [`${imageName}:${pkg.version}`], [`${imageName}@sha256:abc`]]) {
    const b = render(...bad);
    t.equal(b.status, 2, `refuses ${JSON.stringify(bad)}`);
    t.equal(b.stdout, '');
  }
});
