import middy from '@middy/core';
import { handleSageMakerRequest, type HttpResponse } from '../shared/api/http.js';
import { observed } from '../shared/middleware.js';
import { services } from '../shared/runtime.js';

/** The parts of an API Gateway HTTP API (payload 2.0) event this handler reads. */
interface HttpApiEvent {
  headers?: Record<string, string | undefined>;
  body?: string;
  isBase64Encoded?: boolean;
  requestContext?: { http?: { method?: string } };
}

/** The HTTP API: SageMaker's five training-job operations in SageMaker's JSON protocol. */
export const handler = middy(async (event: HttpApiEvent): Promise<HttpResponse> => {
  const headers = Object.fromEntries(Object.entries(event.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const raw = event.body ?? '';
  return handleSageMakerRequest(services(), {
    method: event.requestContext?.http?.method ?? 'POST',
    headers,
    body: event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw,
  });
}).use(observed('api'));
