import { describeJob, json, type Command } from '../command.js';
import type { Context } from '../context.js';
import type { Io } from '../io.js';
import type { JobView } from '../job.js';
import { JOB_NAME_OPTION, jobName } from '../flags.js';
import { buildReport, reportHtml, reportText, type CheckpointSeen } from '../report.js';

/** `spotctl report`: a job's timeline, attempts, time and money (cli/report.ts renders them). */
/** Every complete checkpoint in the job's folder under its CheckpointConfig.S3Uri (its manifests), best effort. */
async function listCheckpoints(ctx: Context, job: JobView, io: Io): Promise<CheckpointSeen[]> {
  const uri = job.CheckpointConfig?.S3Uri;
  const match = uri ? /^s3:\/\/([^/]+)\/(.*)$/.exec(uri) : null;
  if (!match) return [];
  const [, bucket = '', folder = ''] = match;
  // Each job's checkpoints are in a folder of its own under the S3Uri.
  const prefix = `${folder === '' || folder.endsWith('/') ? folder : `${folder}/`}${job.TrainingJobName}/`;
  const s3 = await ctx.s3();
  try {
    const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');
    const found: CheckpointSeen[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
      for (const o of page.Contents ?? []) {
        const rest = (o.Key ?? '').slice(prefix.length).split('/');
        if (rest.length === 2 && rest[1] === 'manifest.json' && o.LastModified) found.push({ CheckpointId: rest[0] ?? '', Time: o.LastModified.getTime() / 1000 });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token && found.length < 10_000);
    return found;
  } catch (error) {
    io.err(`spotctl report: could not list the checkpoints in ${uri} (${(error as Error).name}: ${(error as Error).message}); showing the latest only\n`);
    return [];
  } finally {
    s3.destroy();
  }
}

export const reportCommand: Command = {
  name: 'report',
  summary: 'timeline, attempts, training vs billable seconds, dollars and savings (--json, --html FILE)',
  usage: 'spotctl report <job> [--json] [--html report.html]',
  options: { ...JOB_NAME_OPTION, json: { type: 'boolean' }, html: { type: 'string' } },
  help: [
    '--json         the report as JSON',
    '--html FILE    also write a self-contained HTML page with an SVG timeline of attempts, interruptions and checkpoints',
    'Checkpoints are read from the job\'s CheckpointConfig.S3Uri (its manifests) when S3 can be listed.',
  ],
  async run(ctx, values, positionals, io) {
    const name = jobName(values, positionals, 'report');
    const job = await describeJob(ctx, name);
    const now = Date.now() / 1000;
    const report = buildReport(job, await listCheckpoints(ctx, job, io), now);
    if (typeof values.html === 'string') {
      await io.writeFile(values.html, reportHtml(job, report, now));
      io.err(`Wrote ${values.html}\n`);
    }
    io.out(values.json ? json(report) : `${reportText(job, report)}\n`);
    return 0;
  },
};
