import { STATUS_CODES } from 'node:http'
import type { ErrorCode, RedirectorError } from '../core/errors.js'

const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  SR_PATH_TOO_LONG: 414,
  SR_PATH_ENCODING: 400,
  SR_PATH_CONTROL_CHAR: 400,
  SR_PATH_INVALID: 400,
}

/** The status of a client's mistake, by its code; undefined: not the client's. */
export function clientStatus(code: ErrorCode): number | undefined {
  return STATUS_BY_CODE[code]
}

/** The 4xx and its one line for a request target the service refuses. */
export function refusal(error: RedirectorError): { status: number; line: string } {
  /* c8 ignore next -- only path errors reach here, and each has its status */
  const status = clientStatus(error.code) ?? 400
  return { status, line: clientLine(status, error.message) }
}

/** `<reason phrase>: <message>`, kept on one line. */
export function clientLine(status: number, message: string): string {
  return `${STATUS_CODES[status]}: ${oneLine(message)}`
}

/**
 * A message may quote the client's target (the router's does), and Node's
 * parser is not the only way in: control characters and line separators are
 * percent-encoded, so the answer stays one line whatever was sent.
 */
export function oneLine(message: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what it looks for
  return message.replace(/[\x00-\x1f\x7f\u0085\u2028\u2029]/g, (c) => encodeURIComponent(c))
}
