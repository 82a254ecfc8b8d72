import {
  choiceOf,
  useSectionOf,
  type UseQuery,
  type UseSection,
} from '../../src/directory/snippets.js'
import { FLATCAR_PLACE, type Place } from '../../src/directory/model.js'
import { imagesOf, type Extension } from '../../src/catalog/catalog.js'

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

/** The Fedora sysexts' images: the OS release ends the version. */
export const btop = extension(
  'btop',
  'btop-1.4.0-2.fc41-41-x86-64.raw',
  'btop-1.4.0-2.fc42-42-x86-64.raw',
  'btop-1.4.0-2.fc42-42-arm64.raw',
  'btop-1.3.2-1.fc42-42-x86-64.raw',
  'btop-1.2.0-1.fc40-40-arm64.raw',
)

/** Where Fedora pages are in the tests: pages below /directory/fedora/, names in /fedora/. */
export const FEDORA_PLACE: Place = {
  base: '/directory/fedora/',
  layout: { kind: 'fedora', folder: '/fedora/{ext}/' },
}

/** The "Use it" section a page shows for a query (the newest, pinned, by default). */
export function useFor(ext: Extension, query: UseQuery = {}, place = FLATCAR_PLACE): UseSection {
  return useSectionOf(ext, choiceOf(ext, query, place.layout), 'https://extensions.test', place)
}
