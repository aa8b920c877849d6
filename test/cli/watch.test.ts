import { describe, expect, it } from 'vitest';
import type { Io } from '../../cli/io.js';
import type { JobView, TransitionView } from '../../cli/job.js';
import { watchJob } from '../../cli/watch.js';

/** `spotctl watch` driven by a scripted sequence of DescribeTrainingJob answers, one per poll. */
const T0 = 1_700_000_000;

function job(status: string, transitions: [string, number][], extra: Partial<JobView> = {}): JobView {
  const list: TransitionView[] = transitions.map(([Status, at], i) => {
    const next = transitions[i + 1];
    return { Status, StartTime: T0 + at, ...(next ? { EndTime: T0 + next[1] } : {}) };
  });
  const secondary = list.at(-1)?.Status ?? 'Starting';
  return { TrainingJobName: 'scripted', TrainingJobStatus: status, SecondaryStatus: secondary, CreationTime: T0, SecondaryStatusTransitions: list, ...extra };
}

function scriptedIo(): Io & { stdout: string } {
  const io = {
    stdout: '',
    out: (text: string) => void (io.stdout += text),
    err: () => undefined,
    isTTY: false,
    columns: 200,
    env: {},
    readFile: async () => '',
    writeFile: async () => undefined,
    sleep: async () => undefined,
  };
  return io;
}

async function watchScript(polls: JobView[]): Promise<{ code: number; lines: string[] }> {
  let poll = 0;
  const api = { call: async <T>() => (polls[Math.min(poll++, polls.length - 1)] as T) };
  const io = scriptedIo();
  const code = await watchJob(api, 'scripted', { intervalMs: 2000, plain: true }, io);
  return { code, lines: io.stdout.trimEnd().split('\n') };
}

const statusColumn = (lines: string[]) => lines.map((l) => l.split(/\s{2,}/)[2]).filter(Boolean);

describe('spotctl watch (plain lines)', () => {
  it('prints a phase that began and ended between two polls, in order, once', async () => {
    // Given a job whose Downloading and Uploading phases each last less than one poll
    const attempt = { AttemptNumber: 1, InstanceIds: ['i-0abc'], RequestedTime: T0, RunningTime: T0 + 4 };
    const polls = [
      job('InProgress', [['Starting', 0]], { Attempts: [{ ...attempt, InstanceIds: [] }] }),
      job('InProgress', [['Starting', 0], ['Downloading', 4], ['Training', 5]], { Attempts: [attempt] }),
      job('InProgress', [['Starting', 0], ['Downloading', 4], ['Training', 5]], { Attempts: [attempt] }),
      job('Completed', [['Starting', 0], ['Downloading', 4], ['Training', 5], ['Uploading', 60], ['Completed', 61]], { Attempts: [{ ...attempt, EndTime: T0 + 61, EndReason: 'completed' }], TrainingEndTime: T0 + 61 }),
    ];

    // When watch polls it
    const { code, lines } = await watchScript(polls);

    // Then every transition has a line, in the order of SecondaryStatusTransitions, and the job's ending sets the exit code
    expect(code).toBe(0);
    expect(statusColumn(lines)).toEqual(['Starting', 'Downloading', 'Training', 'Uploading', 'Completed']);
    expect(lines.find((l) => l.includes('Downloading'))).toMatch(/^\+4\.0s\s+InProgress\s+Downloading\s+attempt 1 on i-0abc {2}interruptions 0 {2}lasted 1\.0s, between two polls$/);
    expect(lines.find((l) => l.includes('Uploading'))).toMatch(/^\+1m 00s\s+InProgress\s+Uploading\s+.*lasted 1\.0s, between two polls$/);
    expect(lines.at(-1)).toMatch(/^scripted Completed after 1m 01s: 1 attempt\(s\)/);
  });

  it('shows the history a late start missed, and the attempt and interruptions of its time', async () => {
    // Given a job watched only after it was interrupted once and stopped
    const attempts = [
      { AttemptNumber: 1, InstanceIds: ['i-first'], RequestedTime: T0, RunningTime: T0 + 4, EndTime: T0 + 30 },
      { AttemptNumber: 2, InstanceIds: ['i-second'], RequestedTime: T0 + 30, RunningTime: T0 + 34, EndTime: T0 + 50 },
    ];
    const stopped = job('Stopped', [['Starting', 0], ['Downloading', 4], ['Training', 5], ['Interrupted', 20], ['Starting', 30], ['Downloading', 34], ['Training', 35], ['Stopping', 45], ['Stopped', 50]], {
      Attempts: attempts,
      Interruptions: [{ Time: T0 + 20, InstanceId: 'i-first', InstanceAction: 'terminate', AttemptNumber: 1 }],
      TrainingEndTime: T0 + 50,
    });

    // When watch's first poll already sees it finished
    const { code, lines } = await watchScript([stopped]);

    // Then it prints the whole history, each phase with what was true then, and exits 11 (Stopped)
    expect(code).toBe(11);
    expect(statusColumn(lines)).toEqual(['Starting', 'Downloading', 'Training', 'Interrupted', 'Starting', 'Downloading', 'Training', 'Stopping', 'Stopped']);
    expect(lines[3]).toMatch(/Interrupted\s+attempt 1 on i-first {2}interruptions 1 /);
    expect(lines[6]).toMatch(/Training\s+attempt 2 on i-second {2}interruptions 1 /);
    expect(lines[7]).toMatch(/^\+45s\s+Stopping\s+Stopping\s+/);
  });

  it('says when checkpoints fail or are overdue, and when they recover', async () => {
    // Given a training job whose checkpoints start failing, then succeed again
    const attempt = { AttemptNumber: 1, InstanceIds: ['i-0abc'], RequestedTime: T0, RunningTime: T0 + 4 };
    const training = [['Starting', 0], ['Downloading', 4], ['Training', 5]] as [string, number][];
    const failing = { Status: 'Failing', Message: "2 checkpoint syncs failed since the last complete one: CheckpointKeyTooLongError: LocalPath file 'a/b' …" };
    const polls = [
      job('InProgress', training, { Attempts: [attempt], CheckpointHealth: { Status: 'Healthy', Message: 'no checkpoint yet' } }),
      job('InProgress', training, { Attempts: [attempt], CheckpointHealth: failing, LastCheckpointFailure: { Time: T0 + 300, AttemptNumber: 1, Trigger: 'periodic', Reason: 'x', ConsecutiveFailures: 2 } }),
      job('InProgress', training, { Attempts: [attempt], CheckpointHealth: { Status: 'Overdue', Message: 'no complete checkpoint in 1000 s of training (allowed 900 s)' } }),
      job('Completed', [...training, ['Uploading', 60], ['Completed', 61]], { Attempts: [{ ...attempt, EndTime: T0 + 61, EndReason: 'completed' }], TrainingEndTime: T0 + 61, CheckpointHealth: { Status: 'Healthy', Message: '' } }),
    ];

    // When watch polls it
    const { lines } = await watchScript(polls);

    // Then the failing and the overdue checkpoints each get a line that says so
    expect(lines.filter((l) => l.includes('FAILING: 2 checkpoint syncs failed'))).toHaveLength(1);
    expect(lines.filter((l) => l.includes('OVERDUE: no complete checkpoint in 1000 s'))).toHaveLength(1);
    expect(lines.at(-1)).not.toMatch(/FAILING|OVERDUE/);
  });
});
