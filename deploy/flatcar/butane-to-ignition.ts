import { readFileSync } from 'node:fs'
import { dirname, isAbsolute, normalize, resolve, sep } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parse as parseYaml } from 'yaml'

/**
 * Turns a Butane config (variant flatcar 1.0.0, or fcos 1.4.0) into the
 * Ignition config (spec 3.3.0) that Butane itself would give, for the part of the
 * format deploy/flatcar/sysext-redirector.bu uses. Butane is not packaged for
 * Debian or npm; this keeps the committed .ign reproducible in CI.
 *
 * It differs from Butane on purpose in one way: file contents become a plain
 * `data:` URL (percent-escaped, or base64 when shorter), never gzip, whose
 * bytes differ between Go's and Node's compressors; so the same .bu gives the
 * same .ign everywhere. Anything outside the subset below is refused with its
 * path, never passed through unchecked.
 *
 *   node --import tsx deploy/flatcar/butane-to-ignition.ts FILE.bu [--files-dir DIR]
 *
 * `contents.local` paths are read below the files directory, by default the
 * folder of FILE.bu (Butane's --files-dir).
 */

export const IGNITION_VERSION = '3.3.0'

/**
 * The Butane variants and versions that give that spec: Flatcar's, and
 * Fedora CoreOS's (a Fedora sysexts directory page's snippet); the subset
 * below is the same for both.
 */
const VARIANTS = ['flatcar 1.0.0', 'fcos 1.4.0']

/** How one Butane field becomes an Ignition field. */
type Field =
  | { to: string; kind: 'scalar' }
  | { to: string; kind: 'scalars' }
  | { to: string; kind: 'object'; of: Schema }
  | { to: string; kind: 'list'; of: Schema }
  | { to: string; kind: 'contents' }
type Schema = Readonly<Record<string, Field>>

const scalar = (to: string): Field => ({ to, kind: 'scalar' })
const OWNER: Schema = { id: scalar('id'), name: scalar('name') }
// Ignition's "node": what files, directories and links share.
const NODE: Schema = {
  group: { to: 'group', kind: 'object', of: OWNER },
  overwrite: scalar('overwrite'),
  path: scalar('path'),
  user: { to: 'user', kind: 'object', of: OWNER },
}
const USER: Schema = {
  gecos: scalar('gecos'),
  groups: { to: 'groups', kind: 'scalars' },
  home_dir: scalar('homeDir'),
  name: scalar('name'),
  no_create_home: scalar('noCreateHome'),
  password_hash: scalar('passwordHash'),
  primary_group: scalar('primaryGroup'),
  ssh_authorized_keys: { to: 'sshAuthorizedKeys', kind: 'scalars' },
  shell: scalar('shell'),
  system: scalar('system'),
  uid: scalar('uid'),
}
const GROUP: Schema = { gid: scalar('gid'), name: scalar('name'), system: scalar('system') }
const DROPIN: Schema = { contents: scalar('contents'), name: scalar('name') }
const UNIT: Schema = {
  contents: scalar('contents'),
  dropins: { to: 'dropins', kind: 'list', of: DROPIN },
  enabled: scalar('enabled'),
  mask: scalar('mask'),
  name: scalar('name'),
}
const ROOT: Schema = {
  passwd: {
    to: 'passwd',
    kind: 'object',
    of: {
      groups: { to: 'groups', kind: 'list', of: GROUP },
      users: { to: 'users', kind: 'list', of: USER },
    },
  },
  storage: {
    to: 'storage',
    kind: 'object',
    of: {
      directories: { to: 'directories', kind: 'list', of: { ...NODE, mode: scalar('mode') } },
      files: {
        to: 'files',
        kind: 'list',
        of: { ...NODE, contents: { to: 'contents', kind: 'contents' }, mode: scalar('mode') },
      },
      links: {
        to: 'links',
        kind: 'list',
        of: { ...NODE, hard: scalar('hard'), target: scalar('target') },
      },
    },
  },
  systemd: {
    to: 'systemd',
    kind: 'object',
    of: { units: { to: 'units', kind: 'list', of: UNIT } },
  },
}

/** Reads a file below the files directory (Butane's --files-dir). */
export type ReadLocal = (path: string) => Buffer

function fail(where: string, problem: string): never {
  throw new Error(`${where}: ${problem}`)
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function butaneToIgnition(doc: unknown, readLocal: ReadLocal): Record<string, unknown> {
  if (!isRecord(doc)) fail('config', 'expected a mapping')
  const { variant, version, ...rest } = doc
  if (!VARIANTS.includes(`${variant} ${version}`)) {
    fail('config', `only ${VARIANTS.join(' or ')} is supported (got ${variant} ${version})`)
  }
  return { ignition: { version: IGNITION_VERSION }, ...translate(rest, ROOT, '', readLocal) }
}

function translate(
  value: Record<string, unknown>,
  schema: Schema,
  where: string,
  readLocal: ReadLocal,
): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, field] of Object.entries(value)) {
    const path = where === '' ? key : `${where}.${key}`
    const spec = Object.hasOwn(schema, key) ? schema[key] : undefined
    if (spec === undefined) fail(path, 'not supported by this converter')
    out[spec.to] = translateField(field, spec, path, readLocal)
  }
  return out
}

function translateField(value: unknown, spec: Field, path: string, readLocal: ReadLocal): unknown {
  switch (spec.kind) {
    case 'scalar':
      if (isRecord(value) || Array.isArray(value)) fail(path, 'expected a single value')
      return value
    case 'scalars':
      if (!Array.isArray(value) || value.some((item) => isRecord(item) || Array.isArray(item))) {
        fail(path, 'expected a list of values')
      }
      return value
    case 'object':
      if (!isRecord(value)) fail(path, 'expected a mapping')
      return translate(value, spec.of, path, readLocal)
    case 'list':
      if (!Array.isArray(value)) fail(path, 'expected a list')
      return value.map((item: unknown, i) => {
        if (!isRecord(item)) fail(`${path}[${i}]`, 'expected a mapping')
        return translate(item, spec.of, `${path}[${i}]`, readLocal)
      })
    case 'contents':
      if (isRecord(value) && 'source' in value) return remoteContents(value, path)
      return { source: dataUrl(contentsOf(value, path, readLocal)) }
  }
}

/**
 * `source: URL`, with `verification.hash` or without: as Butane gives them,
 * the URL fetched by Ignition at first boot (an extension page's snippet).
 */
function remoteContents(value: Record<string, unknown>, path: string): Record<string, unknown> {
  const { source, verification, ...rest } = value
  const extra = Object.keys(rest)[0]
  if (extra !== undefined) fail(`${path}.${extra}`, 'not supported beside source')
  if (typeof source !== 'string') fail(`${path}.source`, 'expected a URL')
  if (verification === undefined) return { source }
  if (!isRecord(verification) || Object.keys(verification).join() !== 'hash') {
    fail(`${path}.verification`, 'expected hash alone')
  }
  if (
    typeof verification.hash !== 'string' ||
    !/^sha(256|512)-[0-9a-f]+$/.test(verification.hash)
  ) {
    fail(`${path}.verification.hash`, 'expected sha256-HEX or sha512-HEX')
  }
  return { source, verification: { hash: verification.hash } }
}

/** `inline: text` or `local: path`, exactly one. */
function contentsOf(value: unknown, path: string, readLocal: ReadLocal): Buffer {
  if (!isRecord(value)) fail(path, 'expected a mapping')
  const keys = Object.keys(value)
  if (keys.length !== 1) fail(path, 'expected exactly one of inline or local')
  if (typeof value.inline === 'string') return Buffer.from(value.inline, 'utf8')
  if (typeof value.local === 'string') return readLocal(value.local)
  return fail(`${path}.${keys[0]}`, 'only inline or local (a string) is supported')
}

// What Go's url.PathEscape leaves alone (Butane escapes data URLs with it).
const UNESCAPED = /^[A-Za-z0-9\-_.~$&+:=@]$/

/** A `data:` URL of the bytes: percent-escaped, or base64 when that is shorter. */
export function dataUrl(bytes: Buffer): string {
  let escaped = ''
  for (const byte of bytes) {
    const char = String.fromCharCode(byte)
    escaped += UNESCAPED.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  const base64 = `;base64,${bytes.toString('base64')}`
  return `data:${base64.length < escaped.length + 1 ? base64 : `,${escaped}`}`
}

/** Reads `local:` paths below `filesDir`, refusing any that leave it. */
export function filesDirReader(filesDir: string): ReadLocal {
  const root = resolve(filesDir)
  return (path) => {
    const full = resolve(root, normalize(path))
    if (isAbsolute(path) || !full.startsWith(`${root}${sep}`)) {
      fail(`local ${path}`, `must be a relative path below ${filesDir}`)
    }
    return readFileSync(full)
  }
}

/** The Ignition JSON for a Butane file, as committed: two-space indent, final newline. */
export function convertFile(file: string, filesDir = dirname(file)): string {
  // YAML 1.1 reads `mode: 0644` as octal, as Butane does.
  const doc: unknown = parseYaml(readFileSync(file, 'utf8'), { version: '1.1', uniqueKeys: true })
  return `${JSON.stringify(butaneToIgnition(doc, filesDirReader(filesDir)), null, 2)}\n`
}

/** The command line: FILE [--files-dir DIR]; the JSON goes to stdout. */
export function main(argv: readonly string[], out: (text: string) => void): number {
  const [file, flag, filesDir] = argv
  const usage = argv.length > 3 || (flag !== undefined && (flag !== '--files-dir' || !filesDir))
  if (file === undefined || usage) {
    process.stderr.write('usage: butane-to-ignition FILE.bu [--files-dir DIR]\n')
    return 2
  }
  out(convertFile(file, filesDir))
  return 0
}

if (import.meta.url === pathToFileURL(String(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2), (text) => process.stdout.write(text))
}
