/** Stable error codes the native core throws: exactly those of cpp/common/error.h (a test compares the two). */
export const NATIVE_ERROR_CODES = [
  'ERR_FILE_NOT_FOUND',
  'ERR_EMPTY_FILE',
  'ERR_INVALID_DATA',
  'ERR_NO_VIDEO_STREAM',
  'ERR_UNSUPPORTED_CODEC',
  'ERR_DECODE',
  'ERR_IO',
  'ERR_ABORTED',
  'ERR_TIMEOUT',
  'ERR_INVALID_ARGUMENT',
  'ERR_TORCH',
  'ERR_NATIVE',
  'ERR_MODEL',
  'ERR_DISTRIBUTED',
] as const;

/** Every stable error code: the native ones and those only the TypeScript side raises. */
export const ERROR_CODES = [...NATIVE_ERROR_CODES, 'ERR_ADDON_LOAD', 'ERR_TOOL_FAILED', 'ERR_MODEL_UNAVAILABLE', 'ERR_TRAINING_FAILED', 'ERR_SLURM', 'ERR_LOCKED'] as const;
export type FvcErrorCode = (typeof ERROR_CODES)[number];

export class FvcError extends Error {
  readonly code: FvcErrorCode;
  constructor(code: FvcErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FvcError';
    this.code = code;
  }
}

export function isFvcError(err: unknown, code?: FvcErrorCode): err is FvcError {
  return err instanceof FvcError && (code === undefined || err.code === code);
}

/** Native rejections are plain Errors with a `code`; give them the FvcError type. */
export function fromNative(err: unknown): unknown {
  if (err instanceof Error && !(err instanceof FvcError)) {
    const code: unknown = (err as Error & { code?: unknown }).code;
    // A code this side does not know would be a silent mismatch: keep it visible in the message.
    if (typeof code === 'string' && code.startsWith('ERR_'))
      return (ERROR_CODES as readonly string[]).includes(code) ? new FvcError(code as FvcErrorCode, err.message) : new FvcError('ERR_NATIVE', `${err.message} [${code}]`);
  }
  return err;
}
