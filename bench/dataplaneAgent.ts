/**
 * The agent's checkpoint code in a process of its own, for the data-plane bench: its peak
 * resident memory is this process's. `checkpoint`: a full checkpoint of the folder, then one
 * with a single file changed, then a final one after another change; `restore`: the latest
 * checkpoint into a new folder. Prints one JSON line of figures.
 */
import '../bench/env.js';
import { open } from 'node:fs/promises';
import { S3Client } from '@aws-sdk/client-s3';
import { Checkpointer } from '../agent/checkpoint/sync.js';
import type { RestoreInstruction } from '../shared/protocol.js';

interface Args {
  mode: 'checkpoint' | 'restore';
  endpoint: string;
  bucket: string;
  controlBucket: string;
  job: string;
  localPath: string;
  /** The file changed between checkpoints (checkpoint mode). */
  changeFile?: string;
  /** The checkpoint to restore (restore mode). */
  sequence?: number;
}
const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const s3 = new S3Client({ endpoint: args.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'spottraining', secretAccessKey: 'spottraininglocal' } });
const lines: string[] = [];
const instruction: RestoreInstruction = {
  TrainingJobName: args.job,
  Attempt: 1,
  CheckpointS3Uri: `s3://${args.bucket}/bench/`,
  CheckpointLocalPath: '/opt/ml/checkpoints',
  OutputS3Uri: `s3://${args.bucket}/output/`,
  Command: [],
  Environment: { SPOT_TRAINING_CHECKPOINT_RETENTION: '5' },
  HyperParameters: {},
  InstanceIds: ['i-0bench0000000001'],
  ...(args.sequence
    ? { Checkpoint: { Id: `ckpt-${String(args.sequence).padStart(9, '0')}`, Sequence: args.sequence, ManifestUri: `s3://${args.bucket}/bench/${args.job}/ckpt-${String(args.sequence).padStart(9, '0')}/manifest.json` } }
    : {}),
};
const checkpointer = new Checkpointer({ s3, controlBucket: args.controlBucket, instruction, instanceId: 'i-0bench0000000001', localPath: args.localPath, leader: true, say: async (l) => void lines.push(l) });
const timed = async <T>(work: () => Promise<T>) => {
  const start = performance.now();
  const value = await work();
  return { value, seconds: (performance.now() - start) / 1000 };
};
const uploadedOf = (line: string | undefined) => Number(/, (\d+) of them sent/.exec(line ?? '')?.[1] ?? Number.NaN);
const rewrite = async (path: string, text: string) => {
  const handle = await open(path, 'r+');
  await handle.write(Buffer.from(text), 0, Buffer.byteLength(text), 0);
  await handle.close();
};

if (args.mode === 'checkpoint') {
  const full = await timed(() => checkpointer.sync({ trigger: 'periodic', why: 'full' }));
  const fullLine = lines.at(-1);
  await rewrite(args.changeFile ?? '', `changed at ${Date.now()}`);
  const incremental = await timed(() => checkpointer.sync({ trigger: 'periodic', why: 'one file changed' }));
  const incrementalLine = lines.at(-1);
  await rewrite(args.changeFile ?? '', `changed again at ${Date.now()}`);
  const deadline = Date.now() + 110_000;
  const final = await timed(() => checkpointer.sync({ trigger: 'final', why: 'final', deadline }));
  const finalLine = lines.at(-1);
  if (![fullLine, incrementalLine, finalLine].every((l) => l?.includes('uploaded'))) throw new Error(`a checkpoint failed: ${lines.join('\n')}`);
  process.stdout.write(
    `${JSON.stringify({
      full: { seconds: full.seconds, uploadedBytes: uploadedOf(fullLine) },
      incremental: { seconds: incremental.seconds, uploadedBytes: uploadedOf(incrementalLine) },
      final: { seconds: final.seconds, uploadedBytes: uploadedOf(finalLine) },
      maxRssMiB: process.resourceUsage().maxRSS / 1024,
      log: lines,
    })}\n`,
  );
} else {
  const restored = await timed(() => checkpointer.restore());
  process.stdout.write(`${JSON.stringify({ seconds: restored.seconds, bytes: restored.value?.bytes ?? 0, maxRssMiB: process.resourceUsage().maxRSS / 1024, log: lines })}\n`);
}
s3.destroy();
