import { describe, expect, it } from 'vitest';
import { describeView } from '../../shared/api/views.js';
import { formatBytes } from '../../shared/lifecycle/statuses.js';
import { downloadProgressBody, parseMetricsReportKey, parseProgressReportKey, parseReportKey, progressReportKey } from '../../shared/protocol.js';
import { JobHarness, MemoryBackend } from '../support/jobHarness.js';

/** The Downloading phase's StatusMessage says how much input data is left, from the leader's progress reports. */
const GiB = 1024 ** 3;
const progress = (Files: number, Bytes: number) => ({ Files, TotalFiles: 40, Bytes, TotalBytes: 4 * GiB });

async function downloading(name: string) {
  const h = new JobHarness(new MemoryBackend(), name);
  await h.at(0).create();
  await h.at(10).launch(['i-0f00000000000001']);
  await h.at(40).running('i-0f00000000000001');
  return h;
}
const lastMessage = async (h: JobHarness) => {
  const view = describeView(await h.job(), h.now);
  return { status: view.SecondaryStatus, message: view.SecondaryStatusTransitions.at(-1)?.StatusMessage, transitions: view.SecondaryStatusTransitions.length };
};

describe('download progress', () => {
  it('updates the Downloading transition\'s message with what is left, without a transition', async () => {
    const h = await downloading('progress-message');
    const before = await lastMessage(h);
    const outcome = await h.at(50).send({ type: 'downloadProgress', time: h.now, attempt: 1, progress: progress(10, 1 * GiB) });
    expect(outcome.status).toBe('applied');
    expect(await lastMessage(h)).toEqual({ status: 'Downloading', message: 'Downloading input data: 3.00 GiB of 4.00 GiB left, 30 of 40 files.', transitions: before.transitions });
    const job = await h.job();
    expect(job.Attempts[0]?.InputDownload).toEqual(progress(10, 1 * GiB));
  });

  it('ignores a report older than the recorded one, a repeat, and one of another attempt', async () => {
    const h = await downloading('progress-order');
    await h.at(60).send({ type: 'downloadProgress', time: h.now, attempt: 1, progress: progress(30, 3 * GiB) });
    const older = await h.at(61).send({ type: 'downloadProgress', time: h.now, attempt: 1, progress: progress(10, 1 * GiB) });
    const repeat = await h.at(62).send({ type: 'downloadProgress', time: h.now, attempt: 1, progress: progress(30, 3 * GiB) });
    const other = await h.at(63).send({ type: 'downloadProgress', time: h.now, attempt: 2, progress: progress(40, 4 * GiB) });
    expect([older.status, repeat.status, other.status]).toEqual(['ignored', 'ignored', 'ignored']);
    expect((await lastMessage(h)).message).toBe('Downloading input data: 1.00 GiB of 4.00 GiB left, 10 of 40 files.');
  });

  it('changes nothing once the job trains: a late report never rewrites the Training message', async () => {
    const h = await downloading('progress-late');
    await h.at(70).report('downloaded');
    const training = await lastMessage(h);
    const late = await h.at(71).send({ type: 'downloadProgress', time: h.now, attempt: 1, progress: progress(40, 4 * GiB) });
    expect(late.status).toBe('ignored');
    expect(await lastMessage(h)).toEqual(training);
    expect(training.status).toBe('Training');
  });

  it('is a report key of its own, and its body names a wrong field', () => {
    const key = progressReportKey('my-job', 3);
    expect(key).toBe('reports/my-job/attempt-3/progress.report.json');
    expect(parseProgressReportKey(key)).toEqual({ ok: true, value: { job: 'my-job', attempt: 3 } });
    expect(parseMetricsReportKey(key).ok).toBe(false);
    expect(parseReportKey(key).ok).toBe(false);
    const wrong = downloadProgressBody.safeParse({ Time: new Date().toISOString(), Files: 5, TotalFiles: 4, Bytes: 1, TotalBytes: 10 });
    expect(wrong.success).toBe(false);
    expect(wrong.error?.issues.map((i) => i.path.join('.'))).toEqual(['Files']);
  });

  it('says sizes in binary units', () => {
    expect([0, 512, 1536, 10 * 1024 ** 2 + 1, 150 * GiB, 3 * 1024 ** 4].map(formatBytes)).toEqual(['0 B', '512 B', '1.50 KiB', '10.0 MiB', '150 GiB', '3.00 TiB']);
  });
});
