import { RedirectorError } from '../core/errors.js'

/** The settings a listener was started from, as the operator wrote them. */
export interface Listener {
  readonly hostVariable: string
  readonly host: string
  readonly portVariable: string
  readonly port: number
}

/**
 * What a failed listen means for the person starting the service: the
 * setting at fault and what would work, instead of Node's raw
 * `listen EADDRINUSE` or `getaddrinfo ENOTFOUND`. Errors it does not know
 * are returned as they are.
 */
export function listenError(err: unknown, listener: Listener): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  const { hostVariable, host, portVariable, port } = listener
  const at = `${portVariable}=${port} on ${hostVariable}=${host}`
  const reason = REASONS[code as keyof typeof REASONS]
  if (reason === undefined) return err
  return new RedirectorError('SR_LISTEN_FAILED', reason({ at, hostVariable, host, portVariable }))
}

interface Names {
  readonly at: string
  readonly hostVariable: string
  readonly host: string
  readonly portVariable: string
}

const unresolved = ({ hostVariable, host }: Names): string =>
  `${hostVariable}="${host}" does not resolve: expected an IP address of this machine, 0.0.0.0, :: or a name that resolves to one of them`

const REASONS = {
  EADDRINUSE: ({ at, portVariable }: Names) =>
    `${at} is in use by another process (EADDRINUSE): stop it or choose another ${portVariable}`,
  EACCES: ({ at, portVariable }: Names) =>
    `${at} needs a privilege this process lacks (EACCES): choose a ${portVariable} above 1023, or grant CAP_NET_BIND_SERVICE`,
  EADDRNOTAVAIL: ({ hostVariable, host }: Names) =>
    `${hostVariable}="${host}" is no address of this machine (EADDRNOTAVAIL): expected one of its addresses, 0.0.0.0 or ::`,
  ENOTFOUND: unresolved,
  EAI_AGAIN: unresolved,
  EAI_NONAME: unresolved,
}
