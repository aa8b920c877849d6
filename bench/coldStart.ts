import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, type BuildOptions } from 'esbuild';
import { parse } from 'yaml';
import { distribution } from './lib/stats.js';

export interface BundleResult {
  fn: string;
  bundledSdk: { bytes: number; initMs: number[]; initP50: number };
  externalSdk: { bytes: number; initMs: number[]; initP50: number };
}

export interface ColdStartResult {
  runs: number;
  /** A fresh node process importing an empty module: the floor under every initMs. */
  emptyImportMs: number;
  functions: BundleResult[];
}

/** serverless.yml's custom.esbuild, as serverless-esbuild passes it to esbuild. */
function esbuildSettings(root: string): BuildOptions {
  const doc = parse(readFileSync(join(root, 'serverless.yml'), 'utf8')) as { custom: { esbuild: Record<string, unknown> } };
  const s = doc.custom.esbuild;
  return {
    bundle: Boolean(s.bundle),
    minify: Boolean(s.minify),
    sourcemap: Boolean(s.sourcemap),
    target: String(s.target),
    platform: s.platform as BuildOptions['platform'],
    format: s.format as BuildOptions['format'],
    mainFields: s.mainFields as string[],
    ...(s.banner ? { banner: s.banner as Record<string, string> } : {}),
    external: (s.exclude as string[] | undefined) ?? [],
    logLevel: 'silent',
  };
}

const MEASURE = `import { pathToFileURL } from 'node:url';
const start = performance.now();
if (process.argv[2]) await import(pathToFileURL(process.argv[2]).href);
process.stdout.write(String(performance.now() - start));
`;

function importMs(measure: string, file: string | undefined): number {
  const run = spawnSync(process.execPath, [measure, ...(file ? [file] : [])], {
    encoding: 'utf8',
    env: { ...process.env, AWS_REGION: 'us-east-1', NODE_OPTIONS: '' },
  });
  if (run.status !== 0) throw new Error(`importing ${file}: ${run.stderr}`);
  return Number(run.stdout);
}

/**
 * Each function bundled as serverless.yml bundles it (bundle, minify, node20, ESM, the
 * createRequire banner), and again with @aws-sdk/* external (the Lambda Node.js runtime has
 * SDK v3); module initialisation = the time a fresh node process takes to import the bundle.
 */
export async function runColdStart(root: string, runs: number): Promise<ColdStartResult> {
  const out = join(root, 'bench', '.build');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const measure = join(out, 'measure.mjs');
  writeFileSync(measure, MEASURE);
  const settings = esbuildSettings(root);
  const functions = readdirSync(join(root, 'functions'))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.replace(/\.ts$/, ''))
    .sort();
  const files: Record<string, { bundled: string; external: string }> = {};
  for (const fn of functions) {
    const bundled = join(out, 'bundled', `${fn}.mjs`);
    const external = join(out, 'external', `${fn}.mjs`);
    await build({ ...settings, entryPoints: [join(root, 'functions', `${fn}.ts`)], outfile: bundled });
    await build({ ...settings, external: [...(settings.external ?? []), '@aws-sdk/*'], entryPoints: [join(root, 'functions', `${fn}.ts`)], outfile: external });
    files[fn] = { bundled, external };
  }
  const empty: number[] = [];
  const init: Record<string, { bundled: number[]; external: number[] }> = {};
  // Rounds over all functions, so that a busy moment of the machine is spread over them all.
  for (let r = 0; r < runs; r++) {
    empty.push(importMs(measure, undefined));
    for (const fn of functions) {
      const i = (init[fn] ??= { bundled: [], external: [] });
      i.bundled.push(importMs(measure, files[fn]!.bundled));
      i.external.push(importMs(measure, files[fn]!.external));
    }
  }
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    runs,
    emptyImportMs: distribution(empty).p50,
    functions: functions.map((fn) => ({
      fn,
      bundledSdk: { bytes: statSync(files[fn]!.bundled).size, initMs: init[fn]!.bundled.map(round), initP50: distribution(init[fn]!.bundled).p50 },
      externalSdk: { bytes: statSync(files[fn]!.external).size, initMs: init[fn]!.external.map(round), initP50: distribution(init[fn]!.external).p50 },
    })),
  };
}
