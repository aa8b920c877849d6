import { SpotTrainingError } from '../shared/errors.js';
/**
 * A small client of the HTTP API in SageMaker's JSON protocol, for spotctl, the demo and the
 * end-to-end tests. Requests are plain JSON over HTTP; `sign` adds SigV4 for API Gateway on AWS.
 */
export class ApiCallError extends SpotTrainingError {
  constructor(
    readonly type: string,
    message: string,
    readonly statusCode: number,
    /** The operation that failed (CreateTrainingJob, …), for messages like the AWS CLI's. */
    readonly operation?: string,
  ) {
    super(message);
    this.name = type;
  }
}

export type Signer = (request: { url: string; headers: Record<string, string>; body: string }) => Promise<Record<string, string>>;

export class TrainingJobsClient {
  constructor(
    readonly endpoint: string,
    private readonly sign?: Signer,
  ) {}

  async call<T = Record<string, unknown>>(operation: string, input: Record<string, unknown> = {}): Promise<T> {
    const body = JSON.stringify(input);
    let headers: Record<string, string> = { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `SageMaker.${operation}` };
    if (this.sign) headers = await this.sign({ url: this.endpoint, headers, body });
    const response = await fetch(this.endpoint, { method: 'POST', headers, body });
    const text = await response.text();
    let payload: Record<string, unknown> = {};
    try {
      payload = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      throw new ApiCallError('InvalidResponse', `${operation}: the endpoint answered HTTP ${response.status} with something that is not JSON`, response.status, operation);
    }
    if (!response.ok) {
      // API Gateway's own refusals (403 for a bad signature, …) carry no __type.
      const fallback = response.headers.get('x-amzn-errortype')?.split(':')[0] ?? (response.status === 403 ? 'AccessDeniedException' : 'UnknownError');
      const type = String(payload.__type ?? fallback).split('#').pop() ?? 'UnknownError';
      throw new ApiCallError(type, String(payload.message ?? payload.Message ?? `HTTP ${response.status}`), response.status, operation);
    }
    return payload as T;
  }
}
