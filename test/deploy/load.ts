// Reads manifests/ for the deploy tests: every YAML file, every document, parsed strictly.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const MANIFESTS = join(REPO, 'manifests');

export interface Doc {
  file: string; // relative to the repository
  object: any;
}

export function yamlFiles(dir: string = MANIFESTS): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** Parses every document of a YAML file; throws on the first YAML error (with the file name). */
export function parseFile(path: string): any[] {
  const docs = parseAllDocuments(readFileSync(path, 'utf8'));
  const out: any[] = [];
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    if (doc.errors.length > 0) throw new Error(`${relative(REPO, path)}: ${doc.errors[0].message}`);
    if (doc.warnings.length > 0) throw new Error(`${relative(REPO, path)}: ${doc.warnings[0].message}`);
    const obj = doc.toJS();
    if (obj !== null && obj !== undefined) out.push(obj);
  }
  return out;
}

/** Every Kubernetes object under dir (kustomization files excluded). */
export function loadObjects(dir: string = MANIFESTS): Doc[] {
  return yamlFiles(dir)
    .filter((f) => !f.endsWith('/kustomization.yaml'))
    .flatMap((f) => parseFile(f).map((object) => ({ file: relative(REPO, f), object })));
}

export function find(docs: readonly Doc[], kind: string, name?: string): any {
  const hits = docs.filter((d) => d.object.kind === kind && (name === undefined || d.object.metadata?.name === name));
  if (hits.length !== 1) throw new Error(`expected exactly one ${kind}${name ? ` ${name}` : ''}, found ${hits.length}`);
  return hits[0].object;
}

/** `kubectl kustomize dir` parsed, or the reason it could not run. */
export function kustomize(dir: string): { objects: any[] } | { skip: string } | { error: string } {
  const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') return { skip: 'kubectl is not installed (needed for `kubectl kustomize`)' };
  if (r.status !== 0) return { error: r.stderr || String(r.error) };
  return { objects: parseAllDocuments(r.stdout).map((d) => d.toJS()).filter(Boolean) };
}
