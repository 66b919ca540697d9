// Preloaded (node --import) into the processes a benchmark measures, so netguard itself needs
// no benchmark code:
//   - forked with an IPC channel: answers { probe: 'memory' } with heap and RSS after full
//     garbage collections (needs --expose-gc), and { probe: 'usage' } with resource usage;
//     and stops the process (SIGTERM) when the benchmark that forked it goes away;
//   - NETGUARD_BENCH_USAGE_FILE set: writes process.resourceUsage() (peak RSS, CPU) there on exit.
import { readFileSync, writeFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';

export interface MemoryProbe {
  heapUsed: number;
  heapTotal: number;
  rss: number;
  external: number;
  arrayBuffers: number;
  /** bytes */
  maxRSS: number;
  spaces?: Record<string, { size: number; used: number; physical: number }>;
  smaps?: string;
}

export interface UsageReport {
  /** bytes */
  maxRSS: number;
  userMs: number;
  systemMs: number;
}

function usage(): UsageReport {
  const u = process.resourceUsage();
  return { maxRSS: u.maxRSS * 1024, userMs: u.userCPUTime / 1000, systemMs: u.systemCPUTime / 1000 };
}

if (process.send) {
  process.on('message', async (m: any) => {
    if (m?.probe === 'memory') {
      const gc = (globalThis as { gc?: () => void }).gc;
      for (let i = 0; gc && i < 4; i++) {
        gc();
        await new Promise((r) => setTimeout(r, 30));
      }
      const mem = process.memoryUsage();
      const reply: MemoryProbe = { ...mem, maxRSS: usage().maxRSS };
      if (m.detail) {
        reply.spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, { size: s.space_size, used: s.space_used_size, physical: s.physical_space_size }]));
        try {
          reply.smaps = readFileSync('/proc/self/smaps_rollup', 'utf8');
        } catch {
          // not Linux
        }
      }
      process.send!({ probe: 'memory', ...reply });
    } else if (m?.probe === 'usage') {
      process.send!({ probe: 'usage', ...usage() });
    }
  });
  // The channel must not keep a server that is shutting down alive; and a benchmark that dies
  // must not leave its servers behind.
  process.channel?.unref();
  process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}

const file = process.env.NETGUARD_BENCH_USAGE_FILE;
if (file) process.on('exit', () => writeFileSync(file, JSON.stringify(usage())));
