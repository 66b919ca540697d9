// `netguard serve`: parse the flags, start the webhook, wait for SIGTERM/SIGINT, drain,
// return the exit code. 0 after a clean shutdown; 2 for anything the operator must fix
// before retrying (flags, policy, certificate files, a --kubeconfig that does not exist);
// 1 when the server could not run (port in use, the cluster caches failed to start).
import { isNetguardError } from '../errors.ts';
import { parseServeConfig, SERVE_USAGE } from '../server/config.ts';
import { startServer, type ServeIo } from '../server/main.ts';

const CONFIG_ERRORS = new Set(['USAGE', 'POLICY_NOT_FOUND', 'POLICY_INVALID', 'TLS_LOAD']);

export async function runServe(argv: string[], io: Partial<ServeIo> = {}): Promise<number> {
  const env = io.env ?? process.env;
  let config;
  try {
    config = parseServeConfig(argv, env);
  } catch (err) {
    if (!isNetguardError(err, 'USAGE')) throw err;
    process.stderr.write(`netguard serve: ${err.message}\n\n${SERVE_USAGE}`);
    return 2;
  }
  if (config.help) {
    process.stdout.write(SERVE_USAGE);
    return 0;
  }

  let server;
  try {
    server = await startServer(config, { ...io, env });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`netguard serve: ${message}\n`);
    return isNetguardError(err) && CONFIG_ERRORS.has(err.code) ? 2 : 1;
  }

  const onSignal = (signal: NodeJS.Signals) => void server.shutdown(signal);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    return await server.closed;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
