/**
 * An http(s) base URL as settings accept it (GITHUB_URL, a mirror): no
 * query, fragment or credentials, returned without a trailing slash; null
 * for anything else. One rule for the environment and the table alike.
 */
export function baseUrlOf(value: string): string | null {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return null
  }
  const plain = url.search === '' && url.hash === '' && url.username === '' && url.password === ''
  if (!/^https?:$/.test(url.protocol) || !plain) return null
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '')
}

/** What baseUrlOf accepts, said to a person. */
export const BASE_URL_ACCEPTS =
  'expected an http:// or https:// URL without query, fragment or credentials'
