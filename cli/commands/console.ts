import { spawn } from 'node:child_process';
import type { Command } from '../command.js';
import { numberFlag } from '../flags.js';

/**
 * `spotctl console`: the web console on 127.0.0.1 against the endpoint spotctl is pointed at.
 * Its server makes every call (SigV4-signed for a deployed API, as spotctl signs), so no
 * credential reaches the browser. Runs until Ctrl-C.
 */
function openBrowser(url: string, env: Record<string, string | undefined>): boolean {
  const graphical = process.platform === 'darwin' || process.platform === 'win32' || Boolean(env.DISPLAY || env.WAYLAND_DISPLAY);
  const command = env.BROWSER ?? (process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : graphical ? 'xdg-open' : undefined);
  if (!command) return false;
  try {
    const child = spawn(command, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
    return true;
  } catch {
    return false;
  }
}

export const consoleCommand: Command = {
  name: 'console',
  summary: 'a live web console of the jobs on 127.0.0.1 (opens a browser where there is one)',
  usage: 'spotctl console [--port N] [--no-browser] [--interval SECONDS]',
  options: {
    port: { type: 'string' },
    'no-browser': { type: 'boolean' },
    interval: { type: 'string' },
  },
  help: [
    '--port N             listen on this port of 127.0.0.1 (default: a free one, printed)',
    '--no-browser         do not open a browser (default: open one when $BROWSER, a display or macOS says there is one)',
    '--interval SECONDS   how often a watched job is described (default 2); nothing is polled while no page watches',
    'The console signs its calls to a deployed API with your AWS credentials; the browser never sees them.',
  ],
  async run(ctx, values, _positionals, io) {
    const port = numberFlag(values, 'port', { unit: 'a port', min: 0, integer: true }) ?? 0;
    const interval = numberFlag(values, 'interval', { unit: 'seconds', min: 0.2 }) ?? 2;
    const [{ startConsoleServer }, { contextBackend }] = await Promise.all([import('../../console/server.js'), import('../../console/contextBackend.js')]);
    const server = await startConsoleServer({ backend: contextBackend(ctx), port, pollIntervalMs: interval * 1000, logIntervalMs: interval * 1000 });
    io.out(`spot-training console: ${server.url}\n  API ${ctx.apiEndpoint}${ctx.local ? '' : ' (requests signed with your AWS credentials)'}\n  Ctrl-C stops it.\n`);
    if (!values['no-browser'] && openBrowser(server.url, io.env)) io.err('Opening it in your browser.\n');
    // Serves until the process is interrupted (cli/main.ts exits on SIGINT).
    return new Promise<number>(() => undefined);
  },
};
