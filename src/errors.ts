/**
 * Every error this service raises on purpose carries a stable code. Handlers and
 * tests branch on the code; the message is for people and may change.
 */
export type ErrorCode =
  | 'SR_PATH_TOO_LONG'
  | 'SR_PATH_ENCODING'
  | 'SR_PATH_CONTROL_CHAR'
  | 'SR_PATH_INVALID'
  | 'SR_TABLE_SYNTAX'
  | 'SR_TABLE_INVALID'
  | 'SR_TABLE_EXAMPLE'
  | 'SR_CONFIG_INVALID'
  /** The manifest index cannot answer yet (GitHub unreachable, no good copy). */
  | 'SR_INDEX_UNAVAILABLE'

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
