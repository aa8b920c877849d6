/**
 * A small client of the HTTP API in SageMaker's JSON protocol, for spotctl, the demo and the
 * end-to-end tests. Requests are plain JSON over HTTP; `sign` adds SigV4 for API Gateway on AWS.
 */
export class ApiCallError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly statusCode: number,
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
      throw new ApiCallError('InvalidResponse', `${operation}: the endpoint answered HTTP ${response.status} with something that is not JSON`, response.status);
    }
    if (!response.ok) {
      const type = String(payload.__type ?? 'UnknownError').split('#').pop() ?? 'UnknownError';
      throw new ApiCallError(type, String(payload.message ?? payload.Message ?? `HTTP ${response.status}`), response.status);
    }
    return payload as T;
  }
}
