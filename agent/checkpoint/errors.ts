/** What can go wrong with a checkpoint, each naming the file and the checkpoint it concerns. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A key S3 would refuse; found before anything of the checkpoint is uploaded. */
export class CheckpointKeyTooLongError extends CheckpointError {
  override name = 'CheckpointKeyTooLongError';
}

/** A file the training script kept rewriting in place, so no moment of it could be taken. */
export class CheckpointFileUnstableError extends CheckpointError {
  override name = 'CheckpointFileUnstableError';
}

/** S3 computed another checksum for an upload than the agent did. */
export class UploadChecksumMismatchError extends CheckpointError {
  override name = 'UploadChecksumMismatchError';
}

/** A checkpoint that cannot be restored as its manifest says: missing or corrupt object, bad manifest. */
export class RestoreError extends CheckpointError {
  override name = 'RestoreError';
}

export class ObjectMissingError extends RestoreError {
  override name = 'ObjectMissingError';
}

export class ObjectCorruptError extends RestoreError {
  override name = 'ObjectCorruptError';
}
