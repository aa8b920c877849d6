import { randomUUID } from 'node:crypto';
import { ApiError } from '../errors.js';
import { describeJsonProblem, jsonProblem, MAX_JSON_DEPTH, textDepth } from '../jsonShape.js';
import { logger } from '../observability.js';
import { runEffects } from '../jobEvents/runEffects.js';
import type { Services } from '../services.js';
import { createOperations, OPERATIONS, type OperationName } from './operations.js';

/**
 * SageMaker's wire protocol (AWS JSON 1.1): `POST /`, `X-Amz-Target: SageMaker.<Operation>`,
 * a JSON body; errors as `{"__type": "...", "message": "..."}`. This is what the AWS CLI,
 * boto3 and the SDKs speak, so they work against this API unchanged with --endpoint-url.
 */
export interface HttpRequest {
  method: string;
  /** Header names in lower case. */
  headers: Record<string, string | undefined>;
  body: string;
}

export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export const MAX_BODY_BYTES = 1024 * 1024;

function respond(statusCode: number, payload: unknown, requestId: string): HttpResponse {
  return {
    statusCode,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': requestId },
    body: JSON.stringify(payload),
  };
}

const failure = (statusCode: number, type: string, message: string, requestId: string) => respond(statusCode, { __type: type, message }, requestId);

export async function handleSageMakerRequest(services: Services, request: HttpRequest): Promise<HttpResponse> {
  const requestId = randomUUID();
  if (request.method.toUpperCase() !== 'POST') return failure(405, 'UnknownOperationException', `Method ${request.method} is not supported; use POST`, requestId);
  const target = request.headers['x-amz-target'] ?? '';
  const match = /^SageMaker\.([A-Za-z]+)$/.exec(target);
  const operation = match?.[1];
  if (!operation || !(OPERATIONS as readonly string[]).includes(operation)) {
    return failure(400, 'UnknownOperationException', `Unknown operation '${target.slice(0, 100)}'; supported: ${OPERATIONS.map((o) => `SageMaker.${o}`).join(', ')}`, requestId);
  }
  const size = Buffer.byteLength(request.body, 'utf8');
  if (size > MAX_BODY_BYTES) {
    return failure(413, 'ValidationException', `Request body is ${size} bytes; the limit is ${MAX_BODY_BYTES} bytes`, requestId);
  }
  if (textDepth(request.body) > MAX_JSON_DEPTH) {
    return failure(400, 'SerializationException', `Request body is nested more than ${MAX_JSON_DEPTH} levels deep`, requestId);
  }
  let input: unknown;
  try {
    input = request.body.trim() === '' ? {} : JSON.parse(request.body);
  } catch {
    return failure(400, 'SerializationException', 'Request body is not valid JSON', requestId);
  }
  // Whatever is accepted must work downstream: a string that is not Unicode is refused, by name.
  const problem = jsonProblem(input);
  if (problem) return failure(400, problem.kind === 'too-deep' ? 'SerializationException' : 'ValidationException', describeJsonProblem(problem), requestId);
  const operations = createOperations({ store: services.store, config: services.config, now: services.now, checkpoints: services.control });
  let result;
  try {
    result = await operations[operation as OperationName](input);
  } catch (error) {
    if (error instanceof ApiError) return failure(error.statusCode, error.type, error.message, requestId);
    logger.error('request failed', { operation, requestId, error: error as Error });
    return failure(500, 'InternalFailure', 'The request processing has failed because of an unknown error; try again.', requestId);
  }
  if (result.job && result.effects.length) {
    try {
      await runEffects(services, result.job, result.effects, { source: `api:${operation}`, eventId: requestId });
    } catch (error) {
      // The request itself succeeded; the deadline sweep asks for the launch again.
      logger.error('effects of a request failed; the deadline sweep will retry them', { operation, requestId, error: error as Error });
    }
  }
  return respond(200, result.response, requestId);
}
