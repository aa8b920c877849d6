import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';

/**
 * An HTTP server for an AWS JSON protocol (awsJson1_0 / awsJson1_1): POST /, the operation in
 * `X-Amz-Target: <prefix>.<Operation>`, a JSON object in and out, errors as
 * `{"__type": …, "message": …}` with a 4xx or 5xx status. The AWS SDKs and the AWS CLI parse
 * these answers as they parse the real service's.
 */
export class AwsServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly statusCode = 400,
    /** For a service that was a Query service (awsQueryCompatible): the Query error code and fault. */
    readonly queryError?: string,
  ) {
    super(message);
    this.name = code;
  }
}

export type Operation = (input: Record<string, unknown>) => unknown;

export interface AwsJsonServerOptions {
  targetPrefix: string;
  /** `1.0` or `1.1`: the content type's version. */
  jsonVersion: '1.0' | '1.1';
  operations: Record<string, Operation>;
  maxBodyBytes: number;
  log?: (entry: Record<string, unknown>) => void;
}

export interface ListeningServer {
  url: string;
  close(): Promise<void>;
}

export async function listenAwsJson(options: AwsJsonServerOptions, port: number, host = '127.0.0.1'): Promise<ListeningServer> {
  const server = createServer((req, res) => void serve(options, req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port: actualPort } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${actualPort}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // SDK clients keep connections alive; without this, close() waits for them to time out.
        server.closeAllConnections();
      }),
  };
}

async function serve(options: AwsJsonServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestId = randomUUID();
  const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
    const payload = JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': `application/x-amz-json-${options.jsonVersion}`,
      'Content-Length': Buffer.byteLength(payload),
      'x-amzn-RequestId': requestId,
      ...headers,
    });
    res.end(payload);
  };
  const fail = (error: AwsServiceError) =>
    send(error.statusCode, { __type: error.code, message: error.message }, error.queryError ? { 'x-amzn-query-error': error.queryError } : {});
  try {
    const raw = await readBody(req, options.maxBodyBytes);
    if (raw === undefined) throw new AwsServiceError('SerializationException', `Request body is larger than ${options.maxBodyBytes} bytes`, 413);
    const body = await decode(raw, String(req.headers['content-encoding'] ?? ''), options.maxBodyBytes);
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.startsWith(`${options.targetPrefix}.`) ? options.operations[target.slice(options.targetPrefix.length + 1)] : undefined;
    if (req.method !== 'POST' || !operation) {
      throw new AwsServiceError('UnknownOperationException', `Operation ${target || '(no X-Amz-Target)'} is not supported by this server (${options.targetPrefix}: ${Object.keys(options.operations).join(', ')})`);
    }
    let input: unknown;
    try {
      input = body.length ? JSON.parse(body.toString('utf8')) : {};
    } catch (error) {
      throw new AwsServiceError('SerializationException', `Request body is not valid JSON: ${(error as Error).message}`);
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new AwsServiceError('SerializationException', 'Request body must be a JSON object');
    send(200, (await operation(input as Record<string, unknown>)) ?? {});
  } catch (error) {
    if (error instanceof AwsServiceError) return fail(error);
    options.log?.({ level: 'error', msg: `${options.targetPrefix} request failed`, requestId, error: String(error) });
    fail(new AwsServiceError('InternalFailure', 'Internal error', 500));
  }
}

const gunzipBody = promisify(gunzip);

/**
 * A body the client compressed (the SDKs gzip large requests of services that take it, such as
 * CloudWatch's PutMetricData): its content, at most a few times the size limit.
 */
async function decode(body: Buffer, encoding: string, limit: number): Promise<Buffer> {
  if (!encoding || encoding === 'identity') return body;
  if (encoding !== 'gzip') throw new AwsServiceError('SerializationException', `Content-Encoding ${encoding} is not supported (gzip is)`);
  try {
    return await gunzipBody(body, { maxOutputLength: 8 * limit });
  } catch (error) {
    throw new AwsServiceError('SerializationException', `Request body is not valid gzip, or larger than ${8 * limit} bytes uncompressed: ${(error as Error).message}`);
  }
}

/** The body, or undefined when it exceeds `limit` (then drained, not kept, so the answer can be read). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => resolve(size <= limit ? Buffer.concat(chunks) : undefined));
    req.on('error', reject);
  });
}

/** Field readers that fail as the services do: InvalidParameterException naming the member. */
export class FieldReader {
  constructor(
    private readonly input: Record<string, unknown>,
    private readonly invalid: (message: string) => AwsServiceError,
  ) {}

  string(name: string, rule: { required?: boolean; min?: number; max?: number; pattern?: RegExp } = {}): string | undefined {
    const value = this.input[name];
    if (value === undefined || value === null) {
      if (rule.required) throw this.invalid(`1 validation error detected: Value null at '${name}' failed to satisfy constraint: Member must not be null`);
      return undefined;
    }
    if (typeof value !== 'string') throw this.invalid(`1 validation error detected: Value at '${name}' failed to satisfy constraint: Member must be a string`);
    if (rule.min !== undefined && value.length < rule.min) {
      throw this.invalid(`1 validation error detected: Value '${value}' at '${name}' failed to satisfy constraint: Member must have length greater than or equal to ${rule.min}`);
    }
    if (rule.max !== undefined && value.length > rule.max) {
      throw this.invalid(`1 validation error detected: Value at '${name}' failed to satisfy constraint: Member must have length less than or equal to ${rule.max}`);
    }
    if (rule.pattern && !rule.pattern.test(value)) {
      throw this.invalid(`1 validation error detected: Value '${value}' at '${name}' failed to satisfy constraint: Member must satisfy regular expression pattern: ${rule.pattern.source}`);
    }
    return value;
  }

  number(name: string, rule: { min?: number; max?: number; integer?: boolean } = {}): number | undefined {
    const value = this.input[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value) || (rule.integer && !Number.isInteger(value))) {
      throw this.invalid(`1 validation error detected: Value '${String(value)}' at '${name}' failed to satisfy constraint: Member must be a${rule.integer ? 'n integer' : ' number'}`);
    }
    if (rule.min !== undefined && value < rule.min) {
      throw this.invalid(`1 validation error detected: Value '${value}' at '${name}' failed to satisfy constraint: Member must have value greater than or equal to ${rule.min}`);
    }
    if (rule.max !== undefined && value > rule.max) {
      throw this.invalid(`1 validation error detected: Value '${value}' at '${name}' failed to satisfy constraint: Member must have value less than or equal to ${rule.max}`);
    }
    return value;
  }

  boolean(name: string): boolean | undefined {
    const value = this.input[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'boolean') throw this.invalid(`1 validation error detected: Value '${String(value)}' at '${name}' failed to satisfy constraint: Member must be a boolean`);
    return value;
  }

  list(name: string, rule: { min?: number; max?: number } = {}): unknown[] | undefined {
    const value = this.input[name];
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value)) throw this.invalid(`1 validation error detected: Value at '${name}' failed to satisfy constraint: Member must be a list`);
    if (rule.min !== undefined && value.length < rule.min) {
      throw this.invalid(`1 validation error detected: Value at '${name}' failed to satisfy constraint: Member must have length greater than or equal to ${rule.min}`);
    }
    if (rule.max !== undefined && value.length > rule.max) {
      throw this.invalid(`1 validation error detected: Value at '${name}' failed to satisfy constraint: Member must have length less than or equal to ${rule.max}`);
    }
    return value;
  }
}
