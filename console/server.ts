import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { ApiCallError } from '../cli/apiClient.js';
import { CliError } from '../cli/context.js';
import type { InstanceAction } from '../cli/interruption.js';
import { isFinished, type JobView } from '../cli/job.js';
import type { ConsoleBackend } from './backend.js';
import { JobWatches } from './jobWatch.js';
import { JobRows } from './jobRows.js';

/**
 * The console's HTTP server: the static front end (console/static, plain ES modules) and a small
 * JSON + server-sent-events API over the backend. It answers only requests addressed to
 * 127.0.0.1 or localhost at its own port (no DNS rebinding), refuses any other Origin, and takes
 * a Stop or an Interrupt only as a same-origin JSON POST carrying the page's token (no CSRF).
 * Credentials stay in this process: the browser sees jobs, never a key.
 */
export interface ConsoleOptions {
  backend: ConsoleBackend;
  /** The path the console is served under: '' on its own server, '/console' on the local cloud's API port. */
  basePath?: string;
  /** How often a watched job is described (default 2000 ms). */
  pollIntervalMs?: number;
  /** How often a followed log is read (default 2000 ms). */
  logIntervalMs?: number;
}

export interface ConsoleHandler {
  /** Serves the request when its path is under the base path; false otherwise (not answered). */
  handle(request: IncomingMessage, response: ServerResponse, port: number): boolean;
  watches: JobWatches;
  close(): void;
}

const STATIC_DIR = join(new URL('.', import.meta.url).pathname, 'static');
const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.html': 'text/html; charset=utf-8', '.svg': 'image/svg+xml' };
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};
const STATUSES = ['InProgress', 'Completed', 'Failed', 'Stopping', 'Stopped'];
const SORTS = ['CreationTime', 'Name', 'Status'];
const NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8' });
  response.end(JSON.stringify(body));
}

async function readJson(request: IncomingMessage, limit = 4096): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, 'ValidationException', `Request body is larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return {};
  try {
    const value = JSON.parse(text) as unknown;
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw new HttpError(400, 'ValidationException', 'The request body must be a JSON object');
}

export function createConsoleHandler(options: ConsoleOptions): ConsoleHandler {
  const base = (options.basePath ?? '').replace(/\/+$/, '');
  const { backend } = options;
  const watches = new JobWatches(backend, options.pollIntervalMs ?? 2000);
  const rows = new JobRows(backend);
  const logIntervalMs = options.logIntervalMs ?? 2000;
  // The page's token for state-changing requests; a page of another origin cannot read it.
  const token = randomBytes(24).toString('base64url');
  const files = new Set(readdirSync(STATIC_DIR));
  const streams = new Set<ServerResponse>();

  /** Host must name this server (127.0.0.1 or localhost at its port); Origin, when sent, must be the same. */
  function checkOrigin(request: IncomingMessage, port: number): string {
    const hosts = [`127.0.0.1:${port}`, `localhost:${port}`];
    const host = request.headers.host ?? '';
    if (!hosts.includes(host)) throw new HttpError(403, 'AccessDenied', `The console answers only requests for ${hosts.join(' or ')}, not for Host '${host}'`);
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== `http://${host}`) throw new HttpError(403, 'AccessDenied', `Requests from origin '${origin}' are refused: the console serves its own page only`);
    const site = request.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') throw new HttpError(403, 'AccessDenied', `Requests from another site (Sec-Fetch-Site: ${site}) are refused`);
    return host;
  }

  function checkWrite(request: IncomingMessage, host: string): void {
    if (request.headers.origin !== `http://${host}`) throw new HttpError(403, 'AccessDenied', 'A Stop or an Interrupt must come from the console page (Origin missing)');
    if (request.headers['x-console-token'] !== token) throw new HttpError(403, 'AccessDenied', 'A Stop or an Interrupt must come from the console page (token missing or wrong)');
    if (!(request.headers['content-type'] ?? '').startsWith('application/json')) throw new HttpError(415, 'ValidationException', 'Content-Type must be application/json');
  }

  function serveStatic(path: string, response: ServerResponse): void {
    if (path === '/' || path === '') {
      const page = readFileSync(join(STATIC_DIR, 'index.html'), 'utf8').replace('%TOKEN%', token).replace('%ENDPOINT%', escapeAttribute(backend.endpoint));
      response.writeHead(200, { ...SECURITY_HEADERS, 'content-type': TYPES['.html'] as string });
      response.end(page);
      return;
    }
    const name = path.startsWith('/static/') ? path.slice('/static/'.length) : '';
    if (!files.has(name) || name === 'index.html') throw new HttpError(404, 'NotFound', `No such page: ${path}`);
    response.writeHead(200, { ...SECURITY_HEADERS, 'content-type': TYPES[extname(name)] ?? 'application/octet-stream' });
    response.end(readFileSync(join(STATIC_DIR, name)));
  }

  function openStream(request: IncomingMessage, response: ServerResponse): (event: string, data: unknown) => void {
    response.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' });
    response.write(': console\n\n');
    streams.add(response);
    const ping = setInterval(() => response.write(': ping\n\n'), 15_000);
    request.on('close', () => {
      clearInterval(ping);
      streams.delete(response);
    });
    return (event, data) => void response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  function jobEvents(name: string, request: IncomingMessage, response: ServerResponse): void {
    const emit = openStream(request, response);
    const unsubscribe = watches.subscribe(name, (event) => (event.kind === 'job' ? emit('job', event.snapshot) : emit('problem', { message: event.message })));
    request.on('close', unsubscribe);
  }

  /** The training log, as `spotctl logs --follow` reads it, until the job ends or the page leaves. */
  function jobLog(name: string, request: IncomingMessage, response: ServerResponse): void {
    const emit = openStream(request, response);
    let closed = false;
    let job: JobView | undefined;
    const unsubscribe = watches.subscribe(name, (event) => {
      if (event.kind === 'job') job = event.snapshot.job;
    });
    request.on('close', () => {
      closed = true;
      unsubscribe();
    });
    void (async () => {
      const source = await backend.openLog(name);
      try {
        for (let last = false; !closed; ) {
          const lines = await source.poll();
          for (let i = 0; i < lines.length; i += 500) emit('lines', lines.slice(i, i + 500));
          // A long log comes a poll's worth at a time, without waiting between them.
          if (source.behind) continue;
          if (last) break;
          await new Promise((r) => setTimeout(r, logIntervalMs));
          // One more read after the end: the last lines of the final attempt arrive as it ends.
          if (job && isFinished(job)) last = true;
        }
        if (!closed) emit('end', { status: job?.TrainingJobStatus });
      } finally {
        source.close();
      }
    })().catch((error: unknown) => {
      if (!closed) emit('problem', { message: `${(error as Error).name}: ${(error as Error).message}` });
    });
  }

  async function listJobs(url: URL, response: ServerResponse): Promise<void> {
    const q = url.searchParams;
    const status = q.get('status') || undefined;
    const nameContains = q.get('name') || undefined;
    const sort = q.get('sort') || 'CreationTime';
    const order = q.get('order') || 'Descending';
    const max = Number(q.get('max') || 25);
    if (status && !STATUSES.includes(status)) throw new HttpError(400, 'ValidationException', `status must be one of ${STATUSES.join(', ')}, got '${status}'`);
    if (!SORTS.includes(sort)) throw new HttpError(400, 'ValidationException', `sort must be one of ${SORTS.join(', ')}, got '${sort}'`);
    if (order !== 'Ascending' && order !== 'Descending') throw new HttpError(400, 'ValidationException', `order must be Ascending or Descending, got '${order}'`);
    if (!Number.isInteger(max) || max < 1 || max > 100) throw new HttpError(400, 'ValidationException', `max must be an integer from 1 to 100, got '${q.get('max')}'`);
    const page = await backend.call<{ TrainingJobSummaries: { TrainingJobName: string; LastModifiedTime?: number }[]; NextToken?: string }>('ListTrainingJobs', {
      SortBy: sort,
      SortOrder: order,
      MaxResults: max,
      ...(status ? { StatusEquals: status } : {}),
      ...(nameContains ? { NameContains: nameContains } : {}),
      ...(q.get('next') ? { NextToken: q.get('next') } : {}),
    });
    send(response, 200, { jobs: await rows.rows(page.TrainingJobSummaries), ...(page.NextToken ? { nextToken: page.NextToken } : {}) });
  }

  async function route(request: IncomingMessage, response: ServerResponse, path: string, url: URL, host: string): Promise<void> {
    const method = request.method ?? 'GET';
    const jobRoute = /^\/api\/jobs\/([^/]+)(?:\/(events|logs|stop|interrupt))?$/.exec(path);
    if (path === '/api/jobs' && method === 'GET') return listJobs(url, response);
    if (!jobRoute) {
      if (method !== 'GET') throw new HttpError(405, 'MethodNotAllowed', `${method} ${path} is not served`);
      return serveStatic(path, response);
    }
    const name = decodeURIComponent(jobRoute[1] ?? '');
    if (!NAME.test(name)) throw new HttpError(400, 'ValidationException', `Not a training job name: '${name}'`);
    const action = jobRoute[2];
    if (method === 'GET' && action === undefined) {
      const job = await backend.call<JobView>('DescribeTrainingJob', { TrainingJobName: name });
      return send(response, 200, await watches.snapshot(job));
    }
    if (method === 'GET' && action === 'events') return jobEvents(name, request, response);
    if (method === 'GET' && action === 'logs') return jobLog(name, request, response);
    if (method === 'POST' && (action === 'stop' || action === 'interrupt')) {
      checkWrite(request, host);
      const body = await readJson(request);
      if (action === 'stop') {
        await backend.call('StopTrainingJob', { TrainingJobName: name });
        watches.refresh(name);
        return send(response, 200, { stopped: name });
      }
      const rebalance = body.rebalance === true;
      const instanceAction = body.action ?? 'terminate';
      if (!['terminate', 'stop', 'hibernate'].includes(String(instanceAction))) throw new HttpError(400, 'ValidationException', `action must be terminate, stop or hibernate, got '${String(instanceAction)}'`);
      const job = await backend.call<JobView>('DescribeTrainingJob', { TrainingJobName: name });
      const sent = await backend.interrupt(job, { action: instanceAction as InstanceAction, rebalance });
      watches.refresh(name);
      const refused = sent.entries.filter((e) => e.errorCode);
      if (refused.length) throw new HttpError(502, 'PutEventsFailed', refused.map((e) => `${e.instanceId}: ${e.errorCode} ${e.errorMessage ?? ''}`).join('; '));
      return send(response, 200, sent);
    }
    throw new HttpError(405, 'MethodNotAllowed', `${method} ${path} is not served`);
  }

  return {
    watches,
    handle(request, response, port) {
      const url = new URL(request.url ?? '/', 'http://console.invalid');
      if (base && url.pathname !== base && !url.pathname.startsWith(`${base}/`)) return false;
      if (base && url.pathname === base) {
        response.writeHead(308, { location: `${base}/` });
        response.end();
        return true;
      }
      const path = url.pathname.slice(base.length) || '/';
      void (async () => {
        const host = checkOrigin(request, port);
        await route(request, response, path, url, host);
      })().catch((error: unknown) => {
        if (response.headersSent) return void response.end();
        if (error instanceof HttpError) return send(response, error.status, { type: error.type, message: error.message });
        if (error instanceof ApiCallError) return send(response, error.statusCode >= 400 ? error.statusCode : 502, { type: error.type, message: error.message });
        if (error instanceof CliError) return send(response, 409, { type: 'Conflict', message: error.message });
        const e = error as Error & { $metadata?: { httpStatusCode?: number } };
        send(response, 502, { type: e.name ?? 'Error', message: e.message ?? String(error) });
      });
      return true;
    },
    close() {
      watches.close();
      for (const stream of streams) stream.end();
      backend.close();
    },
  };
}

function escapeAttribute(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export interface ConsoleServer {
  url: string;
  port: number;
  handler: ConsoleHandler;
  close(): Promise<void>;
}

/** The console on its own server, bound to 127.0.0.1 only; port 0 picks a free one. */
export async function startConsoleServer(options: ConsoleOptions & { port?: number }): Promise<ConsoleServer> {
  const handler = createConsoleHandler(options);
  let port = options.port ?? 0;
  const server: Server = createServer((request, response) => {
    if (!handler.handle(request, response, port)) send(response, 404, { type: 'NotFound', message: 'Not found' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  port = typeof address === 'object' && address ? address.port : port;
  return {
    url: `http://127.0.0.1:${port}${options.basePath ?? ''}/`,
    port,
    handler,
    close: () =>
      new Promise<void>((resolve) => {
        handler.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
