import type { JobView } from '../cli/job.js';
import { isFinished } from '../cli/job.js';
import type { CheckpointMark, ConsoleBackend } from './backend.js';

/**
 * One poller per job, shared by every page that watches it: DescribeTrainingJob every
 * `intervalMs` while at least one viewer is subscribed, nothing otherwise, and never again once
 * the job has finished. Viewers get the job (and its checkpoints) when it changes.
 */
export interface JobSnapshot {
  job: JobView;
  checkpoints: CheckpointMark[];
  /** Why the checkpoints could not be listed, when they could not. */
  checkpointsError?: string;
}

export type Viewer = (event: { kind: 'job'; snapshot: JobSnapshot } | { kind: 'error'; message: string }) => void;

interface Watch {
  viewers: Set<Viewer>;
  last?: JobSnapshot;
  lastJson?: string;
  timer?: NodeJS.Timeout;
  polling?: Promise<void>;
}

export class JobWatches {
  private readonly watches = new Map<string, Watch>();
  /** DescribeTrainingJob calls made, for tests and the server's own accounting. */
  describeCalls = 0;

  constructor(
    private readonly backend: ConsoleBackend,
    private readonly intervalMs: number,
  ) {}

  async snapshot(job: JobView): Promise<JobSnapshot> {
    try {
      return { job, checkpoints: await this.backend.checkpoints(job) };
    } catch (error) {
      return { job, checkpoints: [], checkpointsError: `${(error as Error).name}: ${(error as Error).message}` };
    }
  }

  /** Subscribes a viewer; it gets the latest snapshot at once (a first Describe when none). Returns the unsubscribe. */
  subscribe(name: string, viewer: Viewer): () => void {
    let watch = this.watches.get(name);
    if (!watch) {
      watch = { viewers: new Set() };
      this.watches.set(name, watch);
    }
    watch.viewers.add(viewer);
    if (watch.last) viewer({ kind: 'job', snapshot: watch.last });
    if (!watch.timer && !watch.polling) void this.poll(name, watch);
    return () => {
      watch.viewers.delete(viewer);
      if (watch.viewers.size === 0) {
        clearTimeout(watch.timer);
        this.watches.delete(name);
      }
    };
  }

  /** Polls now (after a Stop or an Interrupt from the console), instead of at the next tick. */
  refresh(name: string): void {
    const watch = this.watches.get(name);
    if (!watch || watch.polling) return;
    clearTimeout(watch.timer);
    watch.timer = undefined;
    void this.poll(name, watch);
  }

  private poll(name: string, watch: Watch): Promise<void> {
    watch.polling = (async () => {
      try {
        this.describeCalls++;
        const job = await this.backend.call<JobView>('DescribeTrainingJob', { TrainingJobName: name });
        const json = JSON.stringify(job);
        if (json !== watch.lastJson) {
          watch.lastJson = json;
          watch.last = await this.snapshot(job);
          for (const viewer of watch.viewers) viewer({ kind: 'job', snapshot: watch.last });
        }
      } catch (error) {
        for (const viewer of watch.viewers) viewer({ kind: 'error', message: `${(error as Error).name}: ${(error as Error).message}` });
      } finally {
        watch.polling = undefined;
      }
      // A finished job never changes again: no more polls for it.
      if (this.watches.get(name) === watch && !(watch.last && isFinished(watch.last.job))) {
        watch.timer = setTimeout(() => {
          watch.timer = undefined;
          void this.poll(name, watch);
        }, this.intervalMs);
      }
    })();
    return watch.polling;
  }

  close(): void {
    for (const watch of this.watches.values()) clearTimeout(watch.timer);
    this.watches.clear();
  }
}
