import { SpotTrainingError } from '../../shared/errors.js';

/** What can go wrong with a checkpoint, each naming the file and the checkpoint it concerns. */
export class CheckpointError extends SpotTrainingError {}

/** A key S3 would refuse; found before anything of the checkpoint is uploaded. */
export class CheckpointKeyTooLongError extends CheckpointError {}

/** A file the training script kept rewriting in place, so no moment of it could be taken. */
export class CheckpointFileUnstableError extends CheckpointError {}

/** S3 computed another checksum for an upload than the agent did. */
export class UploadChecksumMismatchError extends CheckpointError {}

/** A checkpoint that cannot be restored as its manifest says: missing or corrupt object, bad manifest. */
export class RestoreError extends CheckpointError {}

export class ObjectMissingError extends RestoreError {}

export class ObjectCorruptError extends RestoreError {}
