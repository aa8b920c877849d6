/**
 * How checkpoints move, chosen for an instance's network (see the README, "Checkpoint data"):
 * 8 MiB parts keep every file under S3's 10,000 parts up to 78 GiB (larger files get larger
 * parts) and are the size at which S3 throughput per connection levels off; 8 parts of a
 * large file and 8 small files in flight saturate a 10–25 Gbit/s instance on a few cores;
 * 16 ranged GETs on restore. The memory this bounds: one part per small file and
 * `partConcurrency + 1` parts of the large file in flight, about 150 MiB at the defaults.
 */
export interface TransferSettings {
  partSizeBytes: number;
  /** Parts of one large file in flight (lib-storage's queueSize). */
  partConcurrency: number;
  /** Files of at most one part in flight. */
  fileConcurrency: number;
  /** Ranged GETs in flight on restore, over all files. */
  restoreConcurrency: number;
}

export const DEFAULT_TRANSFER: TransferSettings = {
  partSizeBytes: 8 * 1024 * 1024,
  partConcurrency: 8,
  fileConcurrency: 8,
  restoreConcurrency: 16,
};
