import type { S3Client } from '@aws-sdk/client-s3';
import type { Context } from '../cli/context.js';
import { sendInterruption } from '../cli/interruption.js';
import type { JobView } from '../cli/job.js';
import { openLogSource } from '../cli/logs.js';
import { MANIFEST_NAME } from '../shared/protocol.js';
import type { CheckpointMark, ConsoleBackend } from './backend.js';

/** Objects listed per checkpoint lookup at most: a job's folder with more shows the newest found. */
const MAX_LISTED = 50_000;

/**
 * The console's backend through spotctl's Context: the same endpoints, region and credentials
 * as spotctl, SigV4-signed for a deployed API, so the browser never holds a credential.
 */
export function contextBackend(ctx: Context): ConsoleBackend {
  const api = ctx.api();
  let s3: Promise<S3Client> | undefined;
  return {
    endpoint: ctx.apiEndpoint,
    call: (operation, input) => api.call(operation, input),
    interrupt: (job, request) => sendInterruption(ctx, job, request),
    openLog: (jobName) => openLogSource(ctx, jobName),
    close: () => void s3?.then((client) => client.destroy()).catch(() => undefined),
    async checkpoints(job: JobView): Promise<CheckpointMark[]> {
      const match = /^s3:\/\/([^/]+)\/(.*)$/.exec(job.CheckpointConfig?.S3Uri ?? '');
      if (!match) return [];
      const [, bucket = '', folder = ''] = match;
      // Each job's checkpoints are in a folder of its own under the S3Uri: <S3Uri>/<job>/<checkpoint>/.
      const prefix = `${folder === '' || folder.endsWith('/') ? folder : `${folder}/`}${job.TrainingJobName}/`;
      s3 ??= ctx.s3();
      const client = await s3;
      const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');
      const folders = new Map<string, { size: number; files: number; manifest?: number }>();
      let token: string | undefined;
      let listed = 0;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
        for (const o of page.Contents ?? []) {
          listed++;
          const rest = (o.Key ?? '').slice(prefix.length).split('/');
          if (rest.length < 2 || !rest[0]) continue;
          const entry = folders.get(rest[0]) ?? { size: 0, files: 0 };
          entry.size += o.Size ?? 0;
          entry.files++;
          if (rest.length === 2 && rest[1] === MANIFEST_NAME && o.LastModified) entry.manifest = o.LastModified.getTime() / 1000;
          folders.set(rest[0], entry);
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token && listed < MAX_LISTED);
      // Only complete checkpoints (a manifest, written last) count; an interrupted upload has none.
      return [...folders]
        .filter(([, f]) => f.manifest !== undefined)
        .map(([id, f]) => ({ CheckpointId: id, Time: f.manifest as number, SizeBytes: f.size, Files: f.files }))
        .sort((a, b) => a.Time - b.Time);
    },
  };
}
