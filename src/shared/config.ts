import { readBoolean, type Env } from '../config/env.js'
import { readRedisUrl } from '../protection/config.js'

/** The fleet's shared store (src/shared/store.ts). */
export interface SharedConfig {
  /** Where it lives: REDIS_URL, unless SHARED_STATE=false; undefined: each instance alone. */
  readonly url: string | undefined
}

export function parseSharedConfig(env: Env): SharedConfig {
  const url = readRedisUrl(env, 'REDIS_URL')
  return { url: readBoolean(env, 'SHARED_STATE', true) ? url : undefined }
}
