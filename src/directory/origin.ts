/**
 * The origin the snippets on a page name (`https://extensions.example.org`):
 * PUBLIC_URL when set; else the Host the client asked for, over https behind
 * Fly's proxy (which ends TLS) and http otherwise. A Host that is not a plain
 * host name or address with an optional port names nothing: null.
 */
export function publicOrigin(
  publicUrl: string | undefined,
  behindFly: boolean,
  host: string | undefined,
): string | null {
  if (publicUrl !== undefined) return publicUrl
  if (host === undefined || !HOST.test(host)) return null
  return `${behindFly ? 'https' : 'http'}://${host.toLowerCase()}`
}

const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/
