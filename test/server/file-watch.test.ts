// The shared watcher behind certificate and policy reload. Regression: a busy neighbour in
// the same directory (a log file) kept resetting the debounce, so reloads waited for the poll.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { watchFiles } from '../../src/server/file-watch.ts';

const logger = pino({ level: 'silent' });
const HOUR = 3_600_000; // the poll never fires in these tests: only watch events count

async function until(cond: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

t.test('changes to a neighbour do not reload; a change to the watched file does', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ng-watch-'));
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, 'a');
  let reloads = 0;
  const w = watchFiles({ files: [file], reload: async () => void reloads++, logger, what: 'policy', pollMs: HOUR, debounceMs: 20 });
  t.teardown(() => w.close());
  for (let i = 0; i < 20; i++) {
    writeFileSync(join(dir, 'server.log'), `line ${i}\n`);
    await sleep(5);
  }
  await sleep(200); // ten debounce periods: a reload triggered by the neighbour would have run
  t.equal(reloads, 0, 'no reload for the neighbour');
  writeFileSync(file, 'b');
  await until(() => reloads > 0, 'the reload');
  await sleep(100);
  t.equal(reloads, 1, 'one reload, for the watched file only');
});

t.test('a steady stream of events cannot postpone the reload past maxDelayMs', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ng-watch-'));
  const file = join(dir, 'tls.crt');
  writeFileSync(file, '0');
  let reloads = 0;
  const w = watchFiles({ files: [file], reload: async () => void reloads++, logger, what: 'certificate', pollMs: HOUR, debounceMs: 100, maxDelayMs: 200 });
  t.teardown(() => w.close());
  // Events every ~20 ms, well inside the 100 ms debounce: without a ceiling no reload would
  // happen until the stream stops.
  let reloadsDuringStream = 0;
  const streamEnd = Date.now() + 3000;
  for (let i = 0; Date.now() < streamEnd && reloadsDuringStream === 0; i++) {
    writeFileSync(file, String(i));
    await sleep(20);
    reloadsDuringStream = reloads;
  }
  t.ok(reloadsDuringStream > 0, 'reloaded while events kept coming');
});

t.test('kubelet-style ..data entries count; check() serialises reloads', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ng-watch-'));
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, 'a');
  let reloads = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const w = watchFiles({
    files: [file],
    reload: async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await sleep(20);
      reloads++;
      inFlight--;
    },
    logger,
    what: 'policy',
    pollMs: HOUR,
    debounceMs: 20,
  });
  t.teardown(() => w.close());
  writeFileSync(join(dir, '..data_tmp'), 'x');
  await until(() => reloads > 0, 'the ..data reload');
  await Promise.all([w.check(), w.check(), w.check()]);
  t.equal(maxInFlight, 1, 'never two reloads at once');
});
