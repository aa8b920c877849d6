import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { TensorBoardOutputConfig } from '../../shared/lifecycle/jobSpec.js';
import { parseS3Uri, type S3Location } from '../../shared/s3uri.js';
import { inPool } from '../checkpoint/pool.js';
import type { TransferSettings } from '../checkpoint/settings.js';
import { encryption, type OutputConfig } from './artifacts.js';

/**
 * TensorBoardOutputConfig: the files under its LocalPath copied to
 * `<S3OutputPath>/<job>/tensorboard-output/` while the job trains (where the SageMaker Python
 * SDK's `latest_job_tensorboard_artifacts_path()` looks), each file again whenever its size or
 * modification time changed since it was last copied: event files grow as training writes them.
 */
export class TensorBoardSync {
  private readonly copied = new Map<string, string>();
  private running?: Promise<number>;

  constructor(
    private readonly s3: S3Client,
    private readonly localPath: string,
    private readonly config: TensorBoardOutputConfig,
    private readonly jobName: string,
    private readonly output: OutputConfig,
    private readonly transfer: TransferSettings,
  ) {}

  get destination(): S3Location {
    const { bucket, prefix } = parseS3Uri(this.config.S3OutputPath);
    return { bucket, prefix: `${prefix}${this.jobName}/tensorboard-output/` };
  }

  /** Copies what changed; one copy at a time, a call during one waits for it. Resolves with the files copied. */
  sync(): Promise<number> {
    const next = (this.running ?? Promise.resolve(0)).catch(() => 0).then(() => this.copyChanged());
    this.running = next;
    return next;
  }

  private async copyChanged(): Promise<number> {
    const entries = await readdir(this.localPath, { withFileTypes: true, recursive: true }).catch(() => []);
    const changed: { path: string; version: string; size: number }[] = [];
    for (const entry of entries.filter((e) => e.isFile())) {
      const path = join(entry.parentPath, entry.name);
      const info = await stat(path).catch(() => undefined);
      if (!info) continue;
      const version = `${info.size}:${info.mtimeMs}`;
      if (this.copied.get(path) !== version) changed.push({ path, version, size: info.size });
    }
    const { bucket, prefix } = this.destination;
    await inPool(changed, this.transfer.fileConcurrency, async (file) => {
      const upload = new Upload({
        client: this.s3,
        params: { Bucket: bucket, Key: `${prefix}${relative(this.localPath, file.path)}`, Body: file.size === 0 ? '' : createReadStream(file.path, { end: file.size - 1 }), ...encryption(this.output) },
        partSize: this.transfer.partSizeBytes,
        queueSize: this.transfer.partConcurrency,
      });
      await upload.done();
      this.copied.set(file.path, file.version);
    });
    return changed.length;
  }
}
