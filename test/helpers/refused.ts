import { isRedirectorError, type ErrorCode } from '../../src/core/errors.js'

/** The message `fn` stops with, when it throws a RedirectorError of `code`; anything else fails. */
export function refusedWith(code: ErrorCode, fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    if (isRedirectorError(err) && err.code === code) return err.message
    throw err
  }
  throw new Error('accepted')
}
