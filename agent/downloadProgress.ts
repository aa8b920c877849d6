import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { progressReportKey, type DownloadProgressBody } from '../shared/protocol.js';
import type { DownloadProgress } from './container/channels.js';

export interface DownloadProgressReportOptions {
  s3: S3Client;
  controlBucket: string;
  jobName: string;
  attempt: number;
  /** At most one report this often; the last progress always goes out at `finish`. */
  intervalMs: number;
  say: (text: string) => Promise<void>;
}

/**
 * How far the attempt's input download has come, for the job's Downloading StatusMessage: one
 * object rewritten as the download goes (reports/<job>/attempt-<n>/progress.report.json). Writes
 * never overlap and never hold the download up; a failed write is said and the next one tries again.
 */
export class DownloadProgressReport {
  private lastSent = 0;
  private pending?: DownloadProgress;
  private sending?: Promise<void>;

  constructor(private readonly options: DownloadProgressReportOptions) {}

  update(progress: DownloadProgress): void {
    this.pending = progress;
    if (!this.sending && Date.now() - this.lastSent >= this.options.intervalMs) this.send();
  }

  /** Waits for the write under way, then writes the newest progress not yet sent. */
  async finish(): Promise<void> {
    await this.sending;
    if (this.pending) this.send();
    await this.sending;
  }

  private send(): void {
    const progress = this.pending;
    if (!progress) return;
    this.pending = undefined;
    this.lastSent = Date.now();
    const { s3, controlBucket, jobName, attempt, say } = this.options;
    const body: DownloadProgressBody = {
      Time: new Date().toISOString(),
      Files: progress.files,
      TotalFiles: progress.totalFiles,
      Bytes: progress.bytes,
      TotalBytes: progress.totalBytes,
    };
    this.sending = s3
      .send(new PutObjectCommand({ Bucket: controlBucket, Key: progressReportKey(jobName, attempt), Body: JSON.stringify(body), ContentType: 'application/json' }))
      .then(
        () => undefined,
        (error: unknown) => say(`download progress not reported: ${String(error)}`),
      )
      .finally(() => {
        this.sending = undefined;
      });
  }
}
