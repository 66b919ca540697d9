// Shared by the handler fuzz tests: the app under test, the invariant every answer must meet,
// and a bound on how long one request may take (a hang fails the property, it does not stall tap).
import { Writable } from 'node:stream';
import pino from 'pino';
import { loadPolicyFile } from '../../src/policies/policy-file.ts';
import type { Policy } from '../../src/policies/types.ts';

/** The bundled policy with nothing excluded and every rule on: every rule sees every object. */
export function everyRulePolicy(action: 'deny' | 'warn' = 'deny', failOpen = true): Policy {
  const base = loadPolicyFile();
  const rules: Policy['rules'] = {};
  for (const [id, config] of Object.entries(base.rules)) rules[id] = { ...config, action, excludeNamespaces: [] };
  return { ...base, failOpen, excludeNamespaces: [], rules };
}

/** Log lines at warn or above, kept (bounded) for the assertions; everything else only counted. */
export function logSink(): { logger: pino.Logger; errors: any[]; lines: () => number; texts: string[] } {
  const errors: any[] = [];
  const texts: string[] = [];
  let count = 0;
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of chunk.toString().split('\n')) {
        if (line.trim() === '') continue;
        count++;
        if (texts.length < 50_000) texts.push(line);
        const parsed = JSON.parse(line);
        if (parsed.level >= 50 && errors.length < 100) errors.push(parsed);
      }
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), errors, lines: () => count, texts };
}

/** Rejects when `p` takes longer than `ms`: the property then fails with "hang". */
export async function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hang: ${what} did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export const MAX_WARNING_CHARS = 256;
export const MAX_STATUS_MESSAGE_CHARS = 4096;

/**
 * The contract with the apiserver, checked on one answer: a 200 AdmissionReview echoing the uid
 * (same apiVersion, boolean allowed, bounded warnings and message), or a 4xx with a JSON error.
 * Never a 5xx. Throws with what is wrong.
 */
export function checkAnswer(status: number, body: string, sent: { apiVersion?: unknown; uid?: string }): 'review' | 'rejected' {
  if (status >= 500) throw new Error(`HTTP ${status}: ${body.slice(0, 300)}`);
  let json: any;
  try {
    json = JSON.parse(body);
  } catch {
    throw new Error(`HTTP ${status} with a body that is not JSON: ${body.slice(0, 300)}`);
  }
  if (status === 200) {
    if (json.kind !== 'AdmissionReview') throw new Error(`200 without kind AdmissionReview: ${body.slice(0, 300)}`);
    if (json.apiVersion !== sent.apiVersion) throw new Error(`apiVersion ${json.apiVersion} for a review sent as ${String(sent.apiVersion)}`);
    const r = json.response;
    if (!r || typeof r !== 'object') throw new Error('200 without a response object');
    if (sent.uid === undefined || r.uid !== sent.uid) throw new Error(`uid ${JSON.stringify(r.uid)?.slice(0, 80)} does not echo ${JSON.stringify(sent.uid)?.slice(0, 80)}`);
    if (typeof r.allowed !== 'boolean') throw new Error('allowed is not a boolean');
    for (const w of r.warnings ?? []) {
      if (typeof w !== 'string' || Array.from(w).length > MAX_WARNING_CHARS) throw new Error(`warning longer than ${MAX_WARNING_CHARS}: ${String(w).slice(0, 100)}…`);
    }
    if (r.status !== undefined) {
      if (typeof r.status.message !== 'string' || typeof r.status.code !== 'number') throw new Error(`malformed status ${JSON.stringify(r.status).slice(0, 200)}`);
      if (Array.from(r.status.message).length > MAX_STATUS_MESSAGE_CHARS) throw new Error(`status.message of ${r.status.message.length} characters`);
    }
    if (!r.allowed && !r.status) throw new Error('a denial without a status');
    return 'review';
  }
  if (status < 400) throw new Error(`unexpected HTTP ${status}`);
  if (typeof json.error !== 'string' || typeof json.message !== 'string') throw new Error(`HTTP ${status} without error and message: ${body.slice(0, 300)}`);
  if (json.message.length > MAX_STATUS_MESSAGE_CHARS) throw new Error(`error message of ${json.message.length} characters`);
  return 'rejected';
}
