/** An extension image as the bakery names it: `<ext>-<version>-<arch>.raw` in release `<ext>-<version>`. */
export interface ImageLabels {
  readonly extension: string
  readonly version: string
  readonly arch: string
}

// A version starts with a digit, or `v` and a digit: `kubernetes-v1.32.2`,
// `docker-compose-2.34.0`, `crio-v1.30.0-rc1`, `k3s-v1.32.2+k3s1`.
const VERSION_START = /-(?=v?\d)/

/**
 * The image a redirect Location names, read from the two path segments after
 * the release download base; null when it names no image (an index, a
 * transfer file, the docs site). Pure: the caller decides the asset exists.
 */
export function imageOf(releases: string, location: string): ImageLabels | null {
  if (!location.startsWith(`${releases}/`)) return null
  const [release = '', asset = '', extra] = location.slice(releases.length + 1).split('/')
  if (extra !== undefined || !asset.startsWith(`${release}-`) || !asset.endsWith('.raw')) {
    return null
  }
  const arch = asset.slice(release.length + 1, -'.raw'.length)
  const split = VERSION_START.exec(release)
  if (arch === '' || split === null || split.index === 0) return null
  return {
    extension: release.slice(0, split.index),
    version: release.slice(split.index + 1),
    arch,
  }
}
