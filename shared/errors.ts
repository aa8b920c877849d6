/**
 * The errors a caller of the API sees, with SageMaker's error types. Everything else that
 * goes wrong is a bug or an outage and surfaces as an InternalFailure.
 */
export type ApiErrorType = 'ValidationException' | 'ResourceInUse' | 'ResourceNotFound' | 'ResourceLimitExceeded';

export class ApiError extends Error {
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
