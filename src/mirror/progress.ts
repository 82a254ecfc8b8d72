/**
 * How a mirror run reports as it goes: a bar redrawn in place on a terminal
 * (at most ten times a second), nothing elsewhere (a log gets the summary
 * line alone).
 */
export interface Progress {
  /** The images this run will look at. */
  start(images: number): void
  bytes(count: number): void
  /** One image done, downloaded or found at hand. */
  done(name: string): void
  /** Clears the bar before the summary. */
  end(): void
}

export const NO_PROGRESS: Progress = {
  start: () => undefined,
  bytes: () => undefined,
  done: () => undefined,
  end: () => undefined,
}

export interface Terminal {
  write(text: string): unknown
  readonly columns?: number | undefined
}

const REDRAW_MS = 100
const BAR_WIDTH = 24

/** A bar on `terminal`; `now` in milliseconds (injected for tests). */
export function progressBar(terminal: Terminal, now: () => number = Date.now): Progress {
  let total = 0
  let finished = 0
  let bytes = 0
  let last = ''
  let drawnAt = -Infinity
  const draw = (force: boolean): void => {
    if (!force && now() - drawnAt < REDRAW_MS) return
    drawnAt = now()
    const filled = total === 0 ? BAR_WIDTH : Math.round((finished / total) * BAR_WIDTH)
    const bar = `${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}`
    const line = `mirror [${bar}] ${finished}/${total} images, ${mebibytes(bytes)} ${last}`
    terminal.write(`\r\x1b[K${line.slice(0, (terminal.columns ?? 80) - 1)}`)
  }
  return {
    start: (images) => {
      total = images
      draw(true)
    },
    bytes: (count) => {
      bytes += count
      draw(false)
    },
    done: (name) => {
      finished++
      last = name
      draw(finished === total)
    },
    end: () => {
      terminal.write('\r\x1b[K')
    },
  }
}

/** Bytes as MiB with one decimal. */
export function mebibytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}
