// Calls to the console server's own API (never to AWS: the server holds the credentials).

export const token = document.querySelector('meta[name="console-token"]').content;

/** GET or POST on the console server's API; the error's message is the server's. */
export async function api(path, { method = 'GET', body } = {}) {
  const response = await fetch(`api/${path}`, {
    method,
    headers: method === 'GET' ? {} : { 'content-type': 'application/json', 'x-console-token': token },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const payload = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(`${payload.type ?? `HTTP ${response.status}`}: ${payload.message ?? response.statusText}`);
  return payload;
}
