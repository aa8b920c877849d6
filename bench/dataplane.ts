import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, rm, stat, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { LOCAL_CREDENTIALS } from '../localcloud/localCloud.js';
import { groupByDelimiter, type ListingStore } from '../localcloud/s3rverListing.js';

/**
 * The checkpoint data plane against the local cloud's S3 (s3rver, configured as `npm start`
 * runs it): a folder with one sparse file over 5 GB and a few hundred small files in nested
 * folders, checkpointed and restored by the agent's code (bundled as on an instance, in a
 * process of its own, for its peak memory) and by the AWS CLI (`aws s3 sync` up, `aws s3 cp --recursive` down) in the
 * same run, against the same server. What s3rver itself can take (PUTs and GETs of 8 MiB
 * from memory, 16 in flight) and the disk's write rate are measured beside them, to tell
 * whether the server is the bottleneck.
 */
export interface DataplaneResult {
  folder: { bigFileBytes: number; smallFiles: number; smallBytes: number; totalBytes: number };
  agent: {
    uploadSeconds: number;
    uploadMBps: number;
    restoreSeconds: number;
    restoreMBps: number;
    uploadPeakRssMiB: number;
    restorePeakRssMiB: number;
    /** The agent process with its code loaded, before any transfer. */
    restingRssMiB: number;
    incrementalUploadedBytes: number;
    changedFileBytes: number;
    incrementalSeconds: number;
    finalSeconds: number;
    /** CPU seconds (user + system) the agent's process used for the upload and for the restore. */
    uploadCpuSeconds: number;
    restoreCpuSeconds: number;
  };
  awsCli: { version: string; uploadSeconds: number; uploadMBps: number; downloadSeconds: number; downloadMBps: number; uploadCpuSeconds: number; downloadCpuSeconds: number; uploadPeakRssMiB?: number; downloadPeakRssMiB?: number };
  server: { putMBps: number; getMBps: number; diskWriteMBps: number };
  /** At the end of the section: how busy the (shared) machine was. */
  loadAverage: number[];
}

const run = promisify(execFile);
const MiB = 1024 * 1024;
const mbps = (bytes: number, seconds: number) => Math.round(bytes / 1e6 / seconds);

export async function runDataplane(options: { quick: boolean; log: (line: string) => void }): Promise<DataplaneResult> {
  const { log } = options;
  const work = await mkdtemp(join(tmpdir(), 'bench-dataplane-'));
  const { default: S3rver } = await import('s3rver');
  const accounts = (await import('s3rver/lib/models/account.js' as string)) as { DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void } };
  accounts.DUMMY_ACCOUNT.createKeyPair(LOCAL_CREDENTIALS.accessKeyId, LOCAL_CREDENTIALS.secretAccessKey);
  const bucket = 'spot-training-data';
  const controlBucket = 'spot-training-bench-control';
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: join(work, 's3'), configureBuckets: [{ name: bucket, configs: [] }, { name: controlBucket, configs: [] }] });
  groupByDelimiter((server as unknown as { store: ListingStore }).store);
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  const s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: LOCAL_CREDENTIALS });
  try {
    // The folder: a sparse model shard with data every 256 MiB, and small files three folders deep.
    const folder = join(work, 'checkpoint');
    const bigFileBytes = options.quick ? 1024 * MiB + 12345 : 5 * 1024 * MiB + 12345;
    await mkdir(folder, { recursive: true });
    const big = await open(join(folder, 'model-shard-00001.safetensors'), 'w');
    await big.truncate(bigFileBytes);
    for (let at = 0; at < bigFileBytes - MiB; at += 256 * MiB) await big.write(randomBytes(MiB), 0, MiB, at);
    await big.close();
    const smallFiles = 300;
    let smallBytes = 0;
    for (let i = 0; i < smallFiles; i++) {
      const dir = join(folder, `layer-${i % 6}`, `block-${i % 5}`, `part-${i % 2}`);
      await mkdir(dir, { recursive: true });
      const size = 4096 + ((i * 7919) % 256) * 1024;
      smallBytes += size;
      await writeFile(join(dir, `tensor-${i}.pt`), randomBytes(size));
    }
    const changeFile = join(folder, 'layer-3', 'block-3', 'part-1', 'tensor-3.pt');
    const changedFileBytes = (await stat(changeFile)).size;
    const totalBytes = bigFileBytes + smallBytes;
    log(`bench: dataplane folder ${(totalBytes / 1e9).toFixed(2)} GB (${smallFiles} small files) on ${endpoint}`);

    const ceiling = await serverCeiling(s3, bucket, options.quick ? 256 * MiB : 1024 * MiB, work);
    log(`bench: dataplane s3rver ceiling PUT ${ceiling.putMBps} MB/s, GET ${ceiling.getMBps} MB/s; disk ${ceiling.diskWriteMBps} MB/s`);

    // The agent's code bundled as a real instance runs it (README, "Real instances"): its memory is the agent's, not a compiler's.
    const bundle = join(work, 'agent.mjs');
    const { build } = await import('esbuild');
    await build({
      entryPoints: ['bench/dataplaneAgent.ts'],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: bundle,
      logLevel: 'error',
      banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    });
    const agentRun = async (args: Record<string, unknown>) => {
      const { stdout } = await run(process.execPath, [bundle, JSON.stringify({ endpoint, bucket, controlBucket, job: 'bench-dataplane', ...args })], { maxBuffer: 64 * MiB });
      return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, any>;
    };
    const env = { ...process.env, AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey, AWS_DEFAULT_REGION: 'us-east-1', AWS_REGION: 'us-east-1' };
    const versionOut = await run('aws', ['--version'], { env });
    const version = (versionOut.stdout.trim() || versionOut.stderr.trim()).split(' ')[0] ?? 'aws-cli';
    const aws = async (cliArgs: string[]) => {
      const start = performance.now();
      // No read timeout, as the SDK the agent uses has none: s3rver assembles a 5 GiB multipart
      // upload on CompleteMultipartUpload for longer than the CLI's default 60 s, and the CLI's
      // retry of the completion then fails because the parts are already gone.
      const { stderr } = await run('/usr/bin/time', ['-f', 'maxrss=%M cpu=%U+%S', 'aws', '--endpoint-url', endpoint, '--only-show-errors', '--cli-read-timeout', '0', ...cliArgs], { env, maxBuffer: 64 * MiB });
      const rss = Number(/maxrss=(\d+)/.exec(stderr)?.[1]);
      const cpu = /cpu=([\d.]+)\+([\d.]+)/.exec(stderr);
      return { seconds: (performance.now() - start) / 1000, cpuSeconds: cpu ? Number(cpu[1]) + Number(cpu[2]) : Number.NaN, ...(Number.isFinite(rss) ? { peakRssMiB: rss / 1024 } : {}) };
    };
    // Each of the agent's transfers right before the AWS CLI's of the same data: on a shared
    // machine, what else runs changes by the minute.
    const up = await agentRun({ mode: 'checkpoint', localPath: folder, changeFile });
    log(`bench: dataplane agent upload ${up.full.seconds.toFixed(1)} s, incremental ${up.incremental.uploadedBytes} B, final ${up.final.seconds.toFixed(2)} s, peak RSS ${Math.round(up.maxRssMiB)} MiB`);
    const cliUp = await aws(['s3', 'sync', folder, `s3://${bucket}/aws-cli/checkpoint/`]);
    log(`bench: dataplane aws s3 sync ${cliUp.seconds.toFixed(1)} s`);
    const down = await agentRun({ mode: 'restore', localPath: join(work, 'restored-agent'), sequence: 3 });
    log(`bench: dataplane agent restore ${down.seconds.toFixed(1)} s, peak RSS ${Math.round(down.maxRssMiB)} MiB`);
    await rm(join(work, 'restored-agent'), { recursive: true, force: true });
    const cliDown = await aws(['s3', 'cp', '--recursive', `s3://${bucket}/aws-cli/checkpoint/`, join(work, 'restored-cli')]);
    log(`bench: dataplane aws s3 cp --recursive ${cliDown.seconds.toFixed(1)} s`);
    const loadAverage = loadavg().map((x) => Math.round(x * 100) / 100);

    return {
      folder: { bigFileBytes, smallFiles, smallBytes, totalBytes },
      agent: {
        uploadSeconds: up.full.seconds,
        uploadMBps: mbps(totalBytes, up.full.seconds),
        restoreSeconds: down.seconds,
        restoreMBps: mbps(totalBytes, down.seconds),
        uploadPeakRssMiB: Math.round(up.maxRssMiB),
        restorePeakRssMiB: Math.round(down.maxRssMiB),
        restingRssMiB: Math.round(up.baseRssMiB),
        incrementalUploadedBytes: up.incremental.uploadedBytes,
        changedFileBytes,
        incrementalSeconds: up.incremental.seconds,
        finalSeconds: up.final.seconds,
        uploadCpuSeconds: up.full.cpuSeconds,
        restoreCpuSeconds: down.cpuSeconds,
      },
      awsCli: {
        version,
        uploadSeconds: cliUp.seconds,
        uploadMBps: mbps(totalBytes, cliUp.seconds),
        downloadSeconds: cliDown.seconds,
        downloadMBps: mbps(totalBytes, cliDown.seconds),
        uploadCpuSeconds: cliUp.cpuSeconds,
        downloadCpuSeconds: cliDown.cpuSeconds,
        ...(cliUp.peakRssMiB ? { uploadPeakRssMiB: Math.round(cliUp.peakRssMiB) } : {}),
        ...(cliDown.peakRssMiB ? { downloadPeakRssMiB: Math.round(cliDown.peakRssMiB) } : {}),
      },
      server: ceiling,
      loadAverage,
    };
  } finally {
    s3.destroy();
    await server.close();
    await rm(work, { recursive: true, force: true });
  }
}

/** What s3rver takes with no client work at all: 8 MiB bodies from memory, 16 in flight; and the disk under it. */
async function serverCeiling(s3: S3Client, bucket: string, bytes: number, work: string): Promise<DataplaneResult['server']> {
  const body = randomBytes(8 * MiB);
  const count = Math.ceil(bytes / body.length);
  const inFlight = 16;
  const each = async (work: (i: number) => Promise<void>) => {
    let next = 0;
    await Promise.all(Array.from({ length: inFlight }, async () => {
      for (let i = next++; i < count; i = next++) await work(i);
    }));
  };
  let start = performance.now();
  await each(async (i) => void (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `ceiling/${i}`, Body: body }))));
  const putMBps = mbps(count * body.length, (performance.now() - start) / 1000);
  start = performance.now();
  await each(async (i) => {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `ceiling/${i}` }));
    for await (const _ of object.Body as AsyncIterable<Uint8Array>) void _;
  });
  const getMBps = mbps(count * body.length, (performance.now() - start) / 1000);
  const file = await open(join(work, 'disk-probe'), 'w');
  start = performance.now();
  for (let i = 0; i < count; i++) await file.write(body);
  await file.sync();
  await file.close();
  const diskWriteMBps = mbps(count * body.length, (performance.now() - start) / 1000);
  await rm(join(work, 'disk-probe'), { force: true });
  return { putMBps, getMBps, diskWriteMBps };
}
