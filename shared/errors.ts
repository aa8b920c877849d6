/**
 * The product's errors. Every one is a SpotTrainingError: its `name` is its class (so logs and
 * `instanceof`-free checks read it), and it carries the error that caused it, if any.
 */
export class SpotTrainingError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** What a parser returns: the value, or the problem with its input, said for a person. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };
export const parsedValue = <T>(value: T): Parsed<T> => ({ ok: true, value });
export const parseProblem = (problem: string): { ok: false; problem: string } => ({ ok: false, problem });

/**
 * The errors a caller of the API sees, with SageMaker's error types. Everything else that
 * goes wrong is a bug or an outage and surfaces as an InternalFailure.
 */
export type ApiErrorType = 'ValidationException' | 'ResourceInUse' | 'ResourceNotFound' | 'ResourceLimitExceeded';

export class ApiError extends SpotTrainingError {
  constructor(
    readonly type: ApiErrorType,
    message: string,
  ) {
    super(message);
    this.name = type;
  }

  /** SageMaker answers all four with HTTP 400. */
  get statusCode(): number {
    return 400;
  }
}

export const validationError = (message: string) => new ApiError('ValidationException', message);
export const notFound = (name: string) => new ApiError('ResourceNotFound', `Requested resource not found: TrainingJob ${name} does not exist.`);
