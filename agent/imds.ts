/**
 * The instance metadata service, IMDSv2: a session token first, then the reads. The endpoint
 * is EC2's link-local address unless AWS_EC2_METADATA_SERVICE_ENDPOINT says otherwise
 * (the SDK's own variable; the local cloud and the tests point it at a simulated IMDS).
 */
export interface SpotInstanceAction {
  action: 'terminate' | 'stop' | 'hibernate';
  time: string;
}

export class Imds {
  private token?: { value: string; expires: number };

  constructor(readonly endpoint = 'http://169.254.169.254') {}

  private async sessionToken(): Promise<string> {
    if (this.token && this.token.expires > Date.now()) return this.token.value;
    const response = await fetch(new URL('/latest/api/token', this.endpoint), {
      method: 'PUT',
      headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '21600' },
      signal: AbortSignal.timeout(2000),
    });
    if (!response.ok) throw new Error(`IMDS token: HTTP ${response.status}`);
    this.token = { value: await response.text(), expires: Date.now() + 6 * 3600_000 - 60_000 };
    return this.token.value;
  }

  /** A metadata path's text, or undefined when IMDS answers 404 (the spot notice's "no notice"). */
  async get(path: string): Promise<string | undefined> {
    const response = await fetch(new URL(`/latest/meta-data/${path}`, this.endpoint), {
      headers: { 'x-aws-ec2-metadata-token': await this.sessionToken() },
      signal: AbortSignal.timeout(2000),
    });
    if (response.status === 404) return undefined;
    if (response.status === 401) this.token = undefined;
    if (!response.ok) throw new Error(`IMDS ${path}: HTTP ${response.status}`);
    return response.text();
  }

  async instanceId(): Promise<string> {
    const id = await this.get('instance-id');
    if (!id) throw new Error('IMDS has no instance-id');
    return id.trim();
  }

  /** The spot interruption notice, when EC2 has scheduled one. */
  async spotInstanceAction(): Promise<SpotInstanceAction | undefined> {
    const text = await this.get('spot/instance-action');
    if (!text) return undefined;
    const parsed = JSON.parse(text) as Partial<SpotInstanceAction>;
    if (parsed.action !== 'terminate' && parsed.action !== 'stop' && parsed.action !== 'hibernate') return undefined;
    return { action: parsed.action, time: String(parsed.time ?? '') };
  }
}
