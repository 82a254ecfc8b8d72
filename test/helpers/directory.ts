import {
  choiceOf,
  useSectionOf,
  type UseQuery,
  type UseSection,
} from '../../src/directory/snippets.js'
import { imagesOf, type Extension } from '../../src/index/catalog.js'

/** Extensions as the directory's tests use them, from image names alone. */
export const extension = (name: string, ...files: string[]): Extension => ({
  name,
  images: imagesOf(
    name,
    files.map((file, i) => ({ sha256: String(i).repeat(64).slice(0, 64), name: file })),
  ),
})

export const kubernetes = extension(
  'kubernetes',
  'kubernetes-v1.32.2-x86-64.raw',
  'kubernetes-v1.32.2-arm64.raw',
  'kubernetes-v1.32.10-x86-64.raw',
  'kubernetes-v1.31.4-x86-64.raw',
)
export const wasm = extension('wasmtime', 'wasmtime-24.0.0-arm64.raw')

/** The "Use it" section a page shows for a query (the newest, pinned, by default). */
export function useFor(ext: Extension, query: UseQuery = {}, base = '/extensions/'): UseSection {
  return useSectionOf(ext, choiceOf(ext, query), 'https://extensions.test', base)
}
