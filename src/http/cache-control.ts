/** The Cache-Control of every answer a shared cache (a CDN) may keep. */
export function publicMaxAge(seconds: number): string {
  return `public, max-age=${seconds}`
}
