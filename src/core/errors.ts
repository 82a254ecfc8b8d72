/**
 * Every error this service raises on purpose carries a stable code. Handlers and
 * tests branch on the code; the message is for people and may change.
 */
export type ErrorCode =
  | 'SR_PATH_TOO_LONG'
  | 'SR_PATH_ENCODING'
  | 'SR_PATH_CONTROL_CHAR'
  | 'SR_PATH_INVALID'
  /** The pattern table's file cannot be read (missing, a folder, no permission). */
  | 'SR_TABLE_UNREADABLE'
  | 'SR_TABLE_SYNTAX'
  | 'SR_TABLE_INVALID'
  | 'SR_TABLE_EXAMPLE'
  | 'SR_CONFIG_INVALID'
  /** A listener could not start: the port is taken, the host is not this machine's. */
  | 'SR_LISTEN_FAILED'
  /** The manifest index cannot answer yet (GitHub unreachable, no good copy). */
  | 'SR_INDEX_UNAVAILABLE'
  /** The mirror command's DIR cannot hold a tree: a file, not writable, or another run's. */
  | 'SR_MIRROR_DIR'
  /** The mirror command could not complete its tree: a file unavailable, or not as its manifest says. */
  | 'SR_MIRROR_FAILED'

export class RedirectorError extends Error {
  readonly code: ErrorCode

  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'RedirectorError'
    this.code = code
  }
}

export function isRedirectorError(err: unknown): err is RedirectorError {
  return err instanceof RedirectorError
}

/**
 * The line a person reads when a start or a command fails: the message and,
 * for our own errors, their code (docs/operating.md, "Error codes"); never a stack.
 */
export function describeError(err: unknown): string {
  if (isRedirectorError(err)) return `${err.message} (${err.code})`
  return err instanceof Error ? err.message : String(err)
}
