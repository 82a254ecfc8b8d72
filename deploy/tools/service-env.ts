import { parseConfig, type Config } from '../../src/config/service.js'
import type { Env } from '../../src/config/env.js'

export interface ServiceEnv {
  /** The configuration the service would run with (parseConfig throws on a bad value). */
  readonly config: Config
  /** Variables the service never reads: a typo or a setting that does not exist. */
  readonly unread: readonly string[]
}

/**
 * Parses environment variables a deployment sets exactly as the service does
 * at start, and names those it never looks at. Which names exist is learnt
 * from parseConfig itself (every reader looks its variable up by name), so a
 * setting added to the service is known here without a list to keep.
 */
export function checkServiceEnv(env: Readonly<Record<string, string>>): ServiceEnv {
  const read = new Set<string>()
  const recorder: Env = new Proxy(env, {
    get(target, name) {
      if (typeof name === 'string') read.add(name)
      return Reflect.get(target, name)
    },
  })
  const config = parseConfig(recorder)
  return { config, unread: Object.keys(env).filter((name) => !read.has(name)) }
}
