import {
  newestImage,
  streamsOf,
  type Arch,
  type Extension,
  type Image,
} from '../catalog/catalog.js'
import type { DirectoryLayout } from '../table/layers.js'

/**
 * What "follow" means in a layout. In Flatcar's, a stream is a release line,
 * a prefix of the version at a `.` (`v1.32` of `v1.32.2`), followed by
 * `MatchPattern=<ext>-<stream>.@v-<arch>.raw`. In the Fedora sysexts', images
 * are built per Fedora release, whose number ends the version
 * (`1.4.0-2.fc42-42`); a machine follows its own release through sysupdate's
 * `%w` (its VERSION_ID), so a stream there is a Fedora release.
 */
export interface Streams {
  /** The streams a page shows, newest first; with `arch`, those with an image for it. */
  list(extension: Extension, arch?: Arch): readonly string[]
  /** The newest image of a stream for an architecture. */
  newest(extension: Extension, arch: Arch, stream: string): Image | undefined
  /** Whether a version belongs to a stream. */
  holds(version: string, stream: string): boolean
  /** The stream an image belongs to: the most specific one shown; null when none. */
  of(extension: Extension, image: Image): string | null
}

const RELEASE_LINES: Streams = {
  list: streamsOf,
  newest: newestImage,
  holds: (version, stream) => version.startsWith(`${stream}.`),
  of(extension, image) {
    const streams = streamsOf(extension, image.arch).filter((stream) =>
      image.version.startsWith(`${stream}.`),
    )
    return streams.sort((a, b) => b.length - a.length)[0] ?? null
  },
}

/** The Fedora release a version was built for: its last `-` part, when all digits. */
export function osReleaseOf(version: string): string | null {
  return /-(\d+)$/.exec(version)?.[1] ?? null
}

const OS_RELEASES: Streams = {
  list(extension, arch) {
    const releases = new Set<string>()
    for (const image of extension.images) {
      const release = osReleaseOf(image.version)
      if (release !== null && (arch === undefined || image.arch === arch)) releases.add(release)
    }
    return [...releases].sort((a, b) => Number(b) - Number(a))
  },
  newest: (extension, arch, stream) =>
    // Newest first: the first image of the release for the architecture.
    extension.images.find((image) => image.arch === arch && osReleaseOf(image.version) === stream),
  holds: (version, stream) => osReleaseOf(version) === stream,
  of: (_extension, image) => osReleaseOf(image.version),
}

export function streamsIn(layout: DirectoryLayout): Streams {
  return layout.kind === 'fedora' ? OS_RELEASES : RELEASE_LINES
}
