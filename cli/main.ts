import { readFile, writeFile } from 'node:fs/promises';
import type { Io } from './io.js';
import { EXIT } from './job.js';
import { run } from './spotctl.js';

/** spotctl's entry point (bin/spotctl.mjs runs it through tsx). */
const io: Io = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  isTTY: Boolean(process.stdout.isTTY),
  columns: process.stdout.columns || 100,
  env: process.env,
  readFile: (path) => readFile(path, 'utf8'),
  writeFile: (path, text) => writeFile(path, text, 'utf8'),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

process.on('SIGINT', () => {
  if (io.isTTY) process.stdout.write('\x1b[?25h\n');
  process.exit(EXIT.sigint);
});

const code = await run(process.argv.slice(2), io);
// Let stdout drain before exiting (it may be a pipe).
process.stdout.write('', () => process.exit(code));
