import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';

/**
 * A simulated instance metadata service (IMDSv2) for one instance: a session token, the
 * instance id, and the spot notice while one is pending. What EC2 serves at 169.254.169.254.
 */
export interface FakeImds {
  url: string;
  close(): Promise<void>;
}

export async function startFakeImds(instanceId: string, notice: () => { action: string; time: string } | undefined): Promise<FakeImds> {
  const tokens = new Set<string>();
  const server = createServer((request, response) => {
    const path = request.url ?? '';
    if (request.method === 'PUT' && path === '/latest/api/token') {
      const token = randomUUID();
      tokens.add(token);
      response.writeHead(200, { 'content-type': 'text/plain' }).end(token);
      return;
    }
    if (!tokens.has(String(request.headers['x-aws-ec2-metadata-token'] ?? ''))) {
      response.writeHead(401).end();
      return;
    }
    if (path === '/latest/meta-data/instance-id') {
      response.writeHead(200, { 'content-type': 'text/plain' }).end(instanceId);
      return;
    }
    if (path === '/latest/meta-data/spot/instance-action') {
      const pending = notice();
      if (pending) response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(pending));
      else response.writeHead(404).end();
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
