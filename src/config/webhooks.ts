import { readInteger, readOptional, type Env } from './env.js'
import type { Cidr } from '../core/address.js'
import { readCidrList } from './protection.js'

/** The GitHub webhook (POST /hooks/github): who may deliver, and how much. */
export interface WebhookConfig {
  /** GITHUB_WEBHOOK_SECRET; undefined turns POST /hooks/github off. */
  readonly secret: string | undefined
  /** The largest webhook body accepted, in bytes. */
  readonly maxBytes: number
  /** GITHUB_WEBHOOK_ALLOW: the only addresses that may deliver; empty: any. */
  readonly allow: readonly Cidr[]
}

const MIB = 1024 * 1024

export function parseWebhookConfig(env: Env): WebhookConfig {
  return {
    secret: readOptional(env, 'GITHUB_WEBHOOK_SECRET'),
    // GitHub caps webhook payloads at 25 MB.
    maxBytes: readInteger(env, 'GITHUB_WEBHOOK_MAX_BYTES', MIB, 1024, 25 * MIB),
    allow: readCidrList(env, 'GITHUB_WEBHOOK_ALLOW'),
  }
}
