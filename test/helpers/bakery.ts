import { createHash } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import type { AppOptions } from '../../src/app.js'
import type { Env } from '../../src/config/env.js'
import { testApp } from './app.js'
import { startFakeGitHub, type FakeGitHub } from './fake-github.js'
import { TestClock } from './upstream.js'

/**
 * A small sysext bakery laid out on GitHub the way flatcar/sysext-bakery is
 * (see /work/shared/reference/url-map.md): one release per version with its
 * images and SHA256SUMS, one metadata release per extension with the
 * SHA256SUMS of all its versions, and the global SHA256SUMS release. For the
 * fake GitHub's `assets` option.
 */
export type Spec = Record<string, Record<string, readonly ('x86-64' | 'arm64')[]>>

export type Assets = Record<string, Record<string, string>>

/** Names with dashes, `+`, `-rc` versions and a versioned release that looks like a name. */
export const BAKERY: Spec = {
  kubernetes: {
    'v1.31.4': ['x86-64', 'arm64'],
    'v1.32.2': ['x86-64', 'arm64'],
    'v1.32.10': ['x86-64'],
    'v1.33.0': ['x86-64', 'arm64'],
  },
  docker: { '27.5.1': ['x86-64', 'arm64'], '28.0.1': ['x86-64', 'arm64'] },
  'docker-compose': { '2.33.1': ['x86-64'], '2.34.0': ['x86-64', 'arm64'] },
  crio: { 'v1.30.0': ['x86-64'], 'v1.30.0-rc1': ['x86-64'] },
  k3s: { 'v1.31.4+k3s1': ['x86-64'], 'v1.31.4+k3s2': ['x86-64'] },
  wasmtime: { '24.0.0': ['arm64'] },
}

export function imageBytes(file: string): string {
  return `image ${file}\n`
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

/** A manifest in the exact form sysupdate reads: `<hash>  <name>\n` per file. */
export function sums(files: readonly string[]): string {
  return files.map((file) => `${sha256(imageBytes(file))}  ${file}\n`).join('')
}

export function imagesOf(ext: string, versions: Spec[string]): string[] {
  return Object.entries(versions).flatMap(([version, arches]) =>
    arches.map((arch) => `${ext}-${version}-${arch}.raw`),
  )
}

export function bakeryAssets(spec: Spec = BAKERY): Assets {
  const assets: Assets = {}
  const all: string[] = []
  for (const [ext, versions] of Object.entries(spec)) {
    const files = imagesOf(ext, versions)
    all.push(...files)
    assets[ext] = { SHA256SUMS: sums(files), [`${ext}.conf`]: '[Transfer]\n' }
    for (const [version, arches] of Object.entries(versions)) {
      const tag = `${ext}-${version}`
      const release: Record<string, string> = {}
      for (const arch of arches) release[`${tag}-${arch}.raw`] = imageBytes(`${tag}-${arch}.raw`)
      release.SHA256SUMS = sums(Object.keys(release))
      assets[tag] = release
    }
  }
  assets.SHA256SUMS = { SHA256SUMS: sums(all) }
  return assets
}

/** What testApp turns off by default, on: the fake GitHub answers instead of github.com. */
export const ONLINE = { UPSTREAM_CHECKS: 'true', MANIFEST_INDEX: 'true' } as const

export interface BakeryRig {
  readonly github: FakeGitHub
  readonly app: FastifyInstance
  readonly logs: Record<string, unknown>[]
  readonly clock: TestClock
}

/** The fake GitHub holding the bakery, and the real app pointed at it. */
export async function startBakery(
  t: Test,
  env: Env = {},
  extra: Partial<AppOptions> = {},
  spec: Spec = BAKERY,
): Promise<BakeryRig> {
  const github = await startFakeGitHub({ assets: bakeryAssets(spec) })
  t.teardown(() => github.close())
  const clock = new TestClock()
  const { app, logs } = await testApp(
    { ...ONLINE, GITHUB_URL: github.url, ...env },
    { clock, ...extra },
  )
  t.teardown(() => app.close())
  return { github, app, logs, clock }
}

/** Publishes what a spec adds to the bakery, manifests included, as the bakery's CI does. */
export function publish(github: FakeGitHub, spec: Spec): void {
  for (const [tag, files] of Object.entries(bakeryAssets(spec))) {
    for (const [name, body] of Object.entries(files)) github.addAsset(tag, name, body)
  }
}
