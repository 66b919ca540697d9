// One review of the issue-13 table as the apiserver would send it: the real Fastify app (plain
// HTTP, in this process) over an in-process InformerView of the ~6,500-pod cluster, the review
// POSTed with ?timeout=3s while /healthz is polled and a legitimate denial is sent right behind
// it. Measures what the security review measured: how long the review took, how long /healthz
// went unanswered, when the legitimate denial arrived, and the process's peak RSS.
import { request } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import pino from 'pino';
import { buildApp } from '../../src/server/app.ts';
import { Registry } from '../../src/server/metrics.ts';
import type { Policy } from '../../src/policies/types.ts';
import type { ReviewInput } from '../../src/policies/engine.ts';
import type { ClusterView } from '../../src/view/view.ts';

export interface ServedReview {
  /** ms from sending the review to its answer */
  reviewMs: number;
  allowed: boolean;
  /** the first warning or the denial message, cut */
  said: string;
  /** the longest /healthz round trip, probed back to back while the review was in flight */
  healthzMaxMs: number;
  healthzCount: number;
  /** the longest the event loop was held meanwhile (perf_hooks monitorEventLoopDelay max) */
  loopBlockedMs: number;
  /** ms from sending the legitimate denial (right after the review) to its answer */
  legitDenyMs: number;
  legitDenied: boolean;
  /** its HTTP status: 408 when Node's headersTimeout passed while the loop was held */
  legitStatus: number;
  maxRssBytes: number;
}

/** The AdmissionReview response in an answer, or undefined (an HTTP error such as 408). */
function responseOf(a: Answer): any {
  try {
    return a.status === 200 ? JSON.parse(a.body).response : undefined;
  } catch {
    return undefined;
  }
}

interface Answer {
  status: number;
  body: string;
  ms: number;
}

function call(port: number, method: string, path: string, body?: string): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method, path, agent: false, headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {} },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, ms: performance.now() - started }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export function reviewBody(input: ReviewInput, uid: string): string {
  const subject = (input.object ?? input.oldObject)!;
  const plural = subject.kind === 'Service' ? 'services' : 'networkpolicies';
  const group = subject.kind === 'Service' ? '' : 'networking.k8s.io';
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group, version: 'v1', kind: subject.kind },
      resource: { group, version: 'v1', resource: plural },
      name: subject.metadata?.name,
      namespace: input.namespace,
      operation: input.operation,
      userInfo: { username: 'attacker', groups: ['system:authenticated'] },
      object: input.object,
      oldObject: input.oldObject,
      dryRun: false,
    },
  });
}

export async function serveOne(view: ClusterView, policy: Policy, review: ReviewInput, legit: ReviewInput, timeout = '3s'): Promise<ServedReview> {
  const app = buildApp({
    policy,
    registry: new Registry(),
    logger: pino({ level: 'silent' }),
    cluster: { view, start: async () => {}, stop: async () => {}, isSynced: () => true, status: () => ({}) },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  try {
    // Warm the route and the JIT with one small review first.
    await call(port, 'POST', `/validate?timeout=${timeout}`, reviewBody(legit, 'warm'));
    const body = reviewBody(review, 'adversarial');
    const legitBody = reviewBody(legit, 'legit');
    // The review, then at once a /healthz (as a kubelet probe arriving meanwhile would) and the
    // legitimate denial; then /healthz every 50 ms until both answers are in. The client shares
    // the server's event loop, so each latency is what a caller outside would wait, at least.
    let inFlight = true;
    const health: number[] = [];
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    // A second opinion on how long the loop was held: the largest gap between 10 ms ticks.
    let last = performance.now();
    let gap = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      gap = Math.max(gap, now - last);
      last = now;
    }, 10);
    const probe = () => call(port, 'GET', '/healthz').then((a) => void health.push(a.ms));
    const pending = call(port, 'POST', `/validate?timeout=${timeout}`, body);
    const legitPending = call(port, 'POST', `/validate?timeout=${timeout}`, legitBody);
    // Back to back, so one is in flight whenever the loop is held.
    const poll = (async () => {
      while (inFlight) await probe();
    })();
    const answer = await pending;
    const legitAnswer = await legitPending;
    inFlight = false;
    await poll;
    loop.disable();
    clearInterval(ticker);
    gap = Math.max(gap, performance.now() - last);
    const r = responseOf(answer);
    const l = responseOf(legitAnswer);
    return {
      reviewMs: answer.ms,
      allowed: r?.allowed === true,
      said: r ? String(r.status?.message ?? r.warnings?.[0] ?? '').slice(0, 160) : `HTTP ${answer.status}: ${answer.body.slice(0, 120)}`,
      healthzMaxMs: Math.max(0, ...health),
      healthzCount: health.length,
      loopBlockedMs: Math.max(loop.max / 1e6, gap),
      legitDenyMs: legitAnswer.ms,
      legitDenied: l?.allowed === false,
      legitStatus: legitAnswer.status,
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
    };
  } finally {
    await app.close();
  }
}
