// Reads the bundle for `netguard check`, collecting every problem instead of stopping at the
// first: a CI log that names all the broken files at once saves a push per file.
// Parsing itself lives in src/bundle/manifests.ts, shared with the fixture harness.
import { resolve } from 'node:path';
import { expandPaths, ioReason, parseManifests, readManifestFile, readManifestStdin, type LoadedObject } from './manifests.ts';
import { isNetguardError, NetguardError } from '../errors.ts';

/** A document (or a whole file) left out, and why ("not a Kubernetes object ..."). */
export interface LoadNote {
  file: string;
  /** 0: the whole file */
  line: number;
  reason: string;
}

export interface LoadResult {
  objects: LoadedObject[];
  /** Files that could not be read or parsed. Any problem makes the bundle unusable. */
  problems: NetguardError[];
  /** Documents left out on purpose (not Kubernetes objects); reported, never fatal. */
  notes: LoadNote[];
  /** The manifest files read, after directory expansion. */
  files: string[];
}

export const STDIN_LABEL = '<stdin>';

export interface LoadOptions {
  /** --exclude: files whose path (as found, relative or absolute) matches one of these globs are not read */
  exclude?: readonly string[];
}

export function loadBundle(paths: readonly string[], readStdin: () => string = readManifestStdin, options: LoadOptions = {}): LoadResult {
  const result: LoadResult = { objects: [], problems: [], notes: [], files: [] };
  const excluded = globMatcher(options.exclude ?? []);
  const seen = new Set<string>();
  for (const path of paths) {
    let files: string[];
    try {
      files = expandPaths([path], (file, reason) => result.notes.push({ file, line: 0, reason }));
    } catch (err) {
      if (!isNetguardError(err)) throw err;
      result.problems.push(err);
      continue;
    }
    files = files.filter((f) => f === '-' || !excluded(f));
    if (files.length === 0) {
      // A CI gate pointed at the wrong directory must not pass by checking nothing.
      result.problems.push(new NetguardError('MANIFEST_UNREADABLE', `${path}: no .yaml, .yml or .json files in this directory`, { file: path }));
      continue;
    }
    for (const file of files) {
      // The same file reached twice (-f dir -f dir/a.yaml) would put its objects in the bundle twice.
      const key = file === '-' ? '-' : resolve(file);
      if (seen.has(key)) continue;
      seen.add(key);
      result.files.push(file === '-' ? STDIN_LABEL : file);
      loadFile(file, readStdin, result);
    }
  }
  return result;
}

/**
 * Globs as .gitignore-style tools read them: `*` and `?` stay within a path segment, `**` spans
 * segments, and a pattern without a slash matches a file or folder name at any depth
 * (`--exclude charts` skips every charts/ folder; `--exclude '*.tpl.yaml'` every such file).
 */
export function globMatcher(patterns: readonly string[]): (path: string) => boolean {
  if (patterns.length === 0) return () => false;
  const res = patterns.map((p) => {
    const body = p.replace(/\/+$/, '').split('**').map((part) => part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')).join('.*');
    return p.includes('/') ? new RegExp(`^(?:\\./)?${body.replace(/^\\\.\//, '')}(?:/.*)?$`) : new RegExp(`(?:^|/)${body}(?:/|$)`);
  });
  return (path) => res.some((re) => re.test(path));
}

function loadFile(file: string, readStdin: () => string, result: LoadResult): void {
  const label = file === '-' ? STDIN_LABEL : file;
  let text: string;
  try {
    // A file is read with a size cap and must be UTF-8 (readManifestFile); stdin is capped by parseManifests.
    text = file === '-' ? readStdin() : readManifestFile(file);
  } catch (err) {
    result.problems.push(isNetguardError(err) ? err : new NetguardError('MANIFEST_UNREADABLE', `cannot read ${label}: ${ioReason(err)}`, { file: label }));
    return;
  }
  addText(result, text, label);
}

/**
 * Adds the objects of one text (a file, stdin, or rendered output such as `kubectl kustomize`)
 * to the result under `label`, with the same problems and notes as a file would get.
 */
export function addText(result: LoadResult, text: string, label: string): void {
  let loaded: LoadedObject[];
  try {
    loaded = parseManifests(text, label);
  } catch (err) {
    if (!isNetguardError(err)) throw err;
    result.problems.push(err);
    return;
  }
  for (const item of loaded) {
    const { kind, apiVersion } = item.object;
    if (typeof kind !== 'string' || kind === '' || typeof apiVersion !== 'string' || apiVersion === '') {
      // e.g. a Helm values.yaml or a CI config swept up by a recursive directory.
      result.notes.push({ ...item.source, reason: 'not a Kubernetes object (no apiVersion and kind)' });
      continue;
    }
    if (kind === 'AdmissionReview') {
      // A recorded webhook request (examples/admission-reviews/), not something one applies.
      result.notes.push({ ...item.source, reason: 'AdmissionReview is a webhook request, not a manifest (send it to netguard serve)' });
      continue;
    }
    result.objects.push(item);
  }
}
