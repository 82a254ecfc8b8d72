import { createHash } from 'node:crypto'
import { ARCHES, type Arch } from '../catalog/catalog.js'
import { DIRECTORY, type ExtensionPage, type Listing, type NewestLink } from './model.js'
import type { UseChoice, UseSection } from './snippets.js'

/**
 * The directory as HTML for people: one self-contained page per answer, with
 * inline CSS and one inline script (no fonts or images, nothing fetched from
 * anywhere), semantic tables with captions and header scopes, visible focus,
 * light and dark colour schemes. Everything works without the script: the
 * snippets are in the page and every choice is a link; the script only adds
 * copy buttons and the listing's filter. Every piece of text from a manifest
 * goes through escapeHtml.
 */
const CSS = `
:root{color-scheme:light dark;--bg:#fbfbfd;--fg:#1c1e21;--muted:#5b6270;--line:#dde1e8;--head:#f0f2f6;--link:#0b57d0;--accent:#09a3d5;--code:#eef1f5}
@media (prefers-color-scheme:dark){:root{--bg:#14161a;--fg:#e6e8eb;--muted:#a2a9b4;--line:#2e333b;--head:#1d2127;--link:#8ab4f8;--accent:#3cc4f0;--code:#22272e}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif}
header{border-bottom:3px solid var(--accent);background:var(--head)}
header div,main,footer{max-width:64rem;margin:0 auto;padding:0 1.25rem}
header div{padding-top:.75rem;padding-bottom:.75rem}
nav ol{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.1rem;font:1rem/1.5 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
nav li::before{content:"/";color:var(--muted);margin-right:.1rem}
nav li:last-child::after{content:"/";color:var(--muted);margin-left:.1rem}
nav [aria-current]{font-weight:600}
h1{font-size:1.75rem;margin:1.5rem 0 .25rem}
h2{font-size:1.2rem;margin:2rem 0 .5rem}
p{margin:.5rem 0}
.lead{color:var(--muted);margin-bottom:1.25rem}
a{color:var(--link);text-underline-offset:.15em}
a:focus-visible{outline:3px solid var(--accent);outline-offset:2px;border-radius:2px}
code{font:.9em/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--code);padding:.1em .35em;border-radius:4px;overflow-wrap:anywhere}
.table{overflow-x:auto;border:1px solid var(--line);border-radius:8px}
table{border-collapse:collapse;width:100%}
caption{text-align:left;padding:.6rem .8rem;color:var(--muted);font-size:.9rem}
th,td{text-align:left;padding:.45rem .8rem;border-top:1px solid var(--line);vertical-align:top}
thead th{background:var(--head);font-size:.85rem;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
tbody tr:hover{background:var(--head)}
td.none{color:var(--muted)}
.num{text-align:right;font-variant-numeric:tabular-nums}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.links{display:flex;flex-wrap:wrap;gap:.3rem .9rem}
.badge{display:inline-block;font-size:.75rem;padding:.05rem .45rem;border:1px solid var(--line);border-radius:999px;color:var(--muted);margin-left:.4rem}
footer{color:var(--muted);font-size:.875rem;padding-top:2rem;padding-bottom:2rem}
pre{background:var(--code);padding:.75rem;border-radius:8px;overflow-x:auto;margin:.25rem 0 1rem}
pre code{background:none;padding:0;overflow-wrap:normal}
.snippet{display:flex;justify-content:space-between;align-items:end;gap:1rem;margin-top:1rem}
.snippet h3{font-size:1rem;margin:0;min-width:0;overflow-wrap:anywhere}
button,input{font:inherit;color:inherit;background:var(--head);border:1px solid var(--line);border-radius:6px;padding:.2rem .7rem}
button:focus-visible,input:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.choices{display:flex;flex-wrap:wrap;gap:.3rem 1.5rem;margin:.5rem 0}
.choices [aria-current]{font-weight:600;text-decoration:none;color:var(--fg)}
.error{border-left:4px solid #d93025;padding:.25rem .75rem}
`.trim()

/**
 * Copy buttons and the listing's filter: both hidden until this runs, so a
 * page without scripts shows neither.
 */
const SCRIPT = `
for(const b of document.querySelectorAll('button[data-copy]')){b.hidden=false;b.addEventListener('click',()=>{navigator.clipboard.writeText(document.getElementById(b.dataset.copy).textContent).then(()=>{b.textContent='Copied'},()=>{b.textContent='Copy failed'})})}
const f=document.getElementById('filter');if(f){f.parentElement.hidden=false;f.addEventListener('input',()=>{const q=f.value.trim().toLowerCase();for(const r of document.querySelectorAll('tr[data-name]'))r.hidden=q!==''&&!r.dataset.name.includes(q)})}
`.trim()

/** For Content-Security-Policy: this stylesheet and nothing else may apply. */
export const STYLE_HASH = `sha256-${createHash('sha256').update(CSS).digest('base64')}`
/** For Content-Security-Policy: this script and nothing else may run. */
export const SCRIPT_HASH = `sha256-${createHash('sha256').update(SCRIPT).digest('base64')}`

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src '${STYLE_HASH}'`,
  `script-src '${SCRIPT_HASH}'`,
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;')
}

function link(url: string, text: string, label?: string): string {
  const aria = label === undefined ? '' : ` aria-label="${escapeHtml(label)}"`
  return `<a href="${escapeHtml(url)}"${aria}>${escapeHtml(text)}</a>`
}

function page(title: string, crumbs: readonly [string, string?][], body: string): string {
  const trail = crumbs
    .map(([text, url], i) =>
      i === crumbs.length - 1
        ? `<li><span aria-current="page">${escapeHtml(text)}</span></li>`
        : `<li>${link(url as string, text)}</li>`,
    )
    .join('')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header><div><nav aria-label="Breadcrumb"><ol>${trail}</ol></nav></div></header>
<main>
${body}
</main>
<footer><p>The same list as JSON: ${link('?format=json', '?format=json')} or <code>Accept: application/json</code>.</p></footer>
<script>${SCRIPT}</script>
</body>
</html>
`
}

const NOT_PUBLISHED = '<td class="none">—<span class="vh">not published</span></td>'
const ARCH_HEADERS = ARCHES.map((arch) => `<th scope="col">${arch}</th>`).join('')

/** A directory's name in the crumbs: its path's last segment (`extensions`), or `/`. */
function directoryName(base: string): string {
  return (
    base
      .split('/')
      .filter((segment) => segment !== '')
      .at(-1) ?? '/'
  )
}

/** The first crumb of a page below the directory: its listing. */
function rootCrumbs(base: string): [string, string?][] {
  return [[directoryName(base), base]]
}

/** A cell per architecture: the always-newest link, showing the version it leads to now. */
function newestCells(label: string, newest: Partial<Record<Arch, NewestLink>>): string {
  return ARCHES.map((arch) => {
    const n = newest[arch]
    if (n === undefined) return NOT_PUBLISHED
    return `<td>${link(n.url, n.version, `newest ${label} for ${arch}: ${n.version}`)}</td>`
  }).join('')
}

/** A table in its scrolling frame: labelled by a heading id, or captioned. */
function table(
  label: { heading: string } | { caption: string },
  head: string,
  rows: string[],
): string {
  const [attribute, caption] =
    'heading' in label
      ? [` aria-labelledby="${label.heading}"`, '']
      : ['', `\n<caption>${escapeHtml(label.caption)}</caption>`]
  return `<div class="table"><table${attribute}>${caption}
<thead><tr>${head}</tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table></div>`
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`
}

/** The sentence naming a page's source, for a table of several; empty otherwise. */
function fromSource(source: string | null): string {
  return source === null ? '' : ` From source <code>${escapeHtml(source)}</code>.`
}

export function listingHtml(listing: Listing, source: string | null, base = DIRECTORY): string {
  const rows = listing.extensions.map(
    (entry) =>
      `<tr data-name="${escapeHtml(entry.name.toLowerCase())}"><th scope="row">${link(entry.url, entry.name)}</th><td class="num">${entry.versions}</td>${newestCells(entry.name, entry.newest)}</tr>`,
  )
  const follows =
    listing.layout === 'flatcar'
      ? 'these links follow new releases'
      : 'systemd-sysupdate follows new ones'
  const body = `<h1>System extensions</h1>
<p class="lead">${plural(listing.extensions.length, 'extension')}.${fromSource(source)} The newest image of each, per architecture; ${follows}. Pick an extension for all its versions and a configuration to set a machine up with it.</p>
<p hidden><label for="filter">Filter by name</label> <input id="filter" type="search" autocomplete="off"></p>
${table(
  { caption: 'Newest image per extension and architecture' },
  `<th scope="col">Extension</th><th scope="col" class="num">Versions</th>${ARCH_HEADERS}`,
  rows,
)}`
  return page('System extensions', [[directoryName(base)]], body)
}

export function extensionHtml(
  ext: ExtensionPage,
  source: string | null,
  base: string,
  use: UseSection,
): string {
  const newest = ARCHES.flatMap((arch) => {
    const n = ext.newest[arch]
    if (n === undefined) return []
    return [
      `<tr><th scope="row">${arch}</th><td>${escapeHtml(n.version)}</td><td>${link(n.url, n.url)}</td></tr>`,
    ]
  })
  const streams = ext.streams.map(
    (s) =>
      `<tr><th scope="row"><code>${escapeHtml(s.stream)}</code> <span class="badge">${link(`?stream=${encodeURIComponent(s.stream)}#use`, 'use', `follow ${s.stream}`)}</span></th>${newestCells(`${ext.name} ${s.stream}`, s.newest)}</tr>`,
  )
  const versions = ext.versions.map((v, i) => {
    const cells = ARCHES.map((arch) => {
      const image = v.images[arch]
      if (image === undefined) return NOT_PUBLISHED
      const choose = link(
        `?version=${encodeURIComponent(v.version)}&arch=${arch}#use`,
        'use',
        `use ${v.version} for ${arch}`,
      )
      return `<td>${link(image.url, image.file)} <span class="badge">${choose}</span></td>`
    })
    const badge = i === 0 ? '<span class="badge">newest</span>' : ''
    return `<tr><th scope="row">${escapeHtml(v.version)}${badge}</th>${cells.join('')}</tr>`
  })
  const flatcar = ext.layout === 'flatcar'
  const [streamsTitle, streamsText, streamHeader] = flatcar
    ? [
        'Streams',
        `Each link follows the newest version within its release line, as <code>${escapeHtml(ext.name)}-&lt;stream&gt;-&lt;arch&gt;.raw</code>`,
        'Stream',
      ]
    : [
        'Fedora releases',
        "The newest image built for each Fedora release; a machine follows its own (sysupdate's <code>%w</code>)",
        'Release',
      ]
  const streamSection =
    streams.length === 0
      ? ''
      : `<h2 id="streams">${streamsTitle}</h2>
<p>${streamsText}:</p>
${shownOf(ext.streams.length, ext.streamsTotal, 'streams', ext.sha256sums)}${table({ heading: 'streams' }, `<th scope="col">${streamHeader}</th>${ARCH_HEADERS}`, streams)}
`
  const where = flatcar ? "this page's address" : link(ext.folder, ext.folder)
  const body = `<h1>${escapeHtml(ext.name)}</h1>
<p class="lead">${plural(ext.versionsTotal, 'version')} for ${escapeHtml(ext.architectures.join(' and '))}.${fromSource(source)} For systemd-sysupdate, use ${where} as <code>Path=</code>; it reads ${link(ext.sha256sums, 'SHA256SUMS')}.</p>
${useHtml(ext, use)}
<h2 id="newest">Newest</h2>
${table(
  { heading: 'newest' },
  `<th scope="col">Architecture</th><th scope="col">Version</th><th scope="col">${flatcar ? 'Always-newest URL' : 'Image'}</th>`,
  newest,
)}
${streamSection}<h2 id="versions">${ext.versions.length < ext.versionsTotal ? 'Newest versions' : 'All versions'}</h2>
${shownOf(ext.versions.length, ext.versionsTotal, 'versions', ext.sha256sums)}${table({ heading: 'versions' }, `<th scope="col">Version</th>${ARCH_HEADERS}`, versions)}`
  return page(`${ext.name} · System extensions`, [...rootCrumbs(base), [ext.name]], body)
}

/** The page's choice, as a query; `change` replaces some of its parts. */
function choiceUrl(choice: UseChoice, change: Partial<UseChoice>, stream: string | null): string {
  const next = { ...choice, ...change }
  const query = [`version=${encodeURIComponent(next.version)}`, `arch=${next.arch}`]
  if (next.follow === 'stream') {
    query.push(`stream=${encodeURIComponent(stream as string)}`, `systemd=${next.systemd}`)
  }
  return `?${query.join('&')}#use`
}

/** One choice's links: the current one marked, the others a click away. */
function choices(label: string, current: string, options: readonly [string, string, string][]) {
  const links = options.map(([value, text, url]) =>
    value === current
      ? `<a href="${escapeHtml(url)}" aria-current="true">${escapeHtml(text)}</a>`
      : link(url, text),
  )
  return `<span>${escapeHtml(label)}: ${links.join(' · ')}</span>`
}

function snippet(id: string, title: string, text: string): string {
  return `<div class="snippet"><h3 id="${id}-title">${escapeHtml(title)}</h3><button type="button" data-copy="${id}" hidden aria-describedby="${id}-title">Copy</button></div>
<pre><code id="${id}">${escapeHtml(text)}</code></pre>`
}

/**
 * "Use it": the snippets for the choice the page's query made (the newest
 * version for x86-64, pinned, by default), the choices as links; or the
 * message for a choice that names nothing published.
 */
function useHtml(ext: ExtensionPage, use: UseSection): string {
  const heading = '<h2 id="use">Use it</h2>'
  if ('error' in use) {
    return `${heading}
<p class="error" role="alert">${escapeHtml(use.error)}. ${link('?#use', 'The newest version')} or a version below has a configuration to offer.</p>`
  }
  const { choice } = use
  const row = ext.versions.find((v) => v.version === choice.version)
  const arches = ARCHES.filter((arch) => row?.images[arch] !== undefined)
  const line = [
    choices(
      'Architecture',
      choice.arch,
      arches.map((arch) => [arch, arch, choiceUrl(choice, { arch }, use.stream)]),
    ),
    choices('Updates', choice.follow, [
      ['version', `pin ${choice.version}`, choiceUrl(choice, { follow: 'version' }, use.stream)],
      ...(use.stream === null
        ? []
        : [
            [
              'stream',
              `follow ${streamName(ext, use.stream)}`,
              choiceUrl(choice, { follow: 'stream' }, use.stream),
            ] as [string, string, string],
          ]),
    ]),
  ]
  if (choice.follow === 'stream') {
    line.push(
      choices('systemd', choice.systemd, [
        ['257', '257 and later (.transfer)', choiceUrl(choice, { systemd: '257' }, use.stream)],
        ['254', '254 to 256 (.conf)', choiceUrl(choice, { systemd: '254' }, use.stream)],
      ]),
    )
  }
  const how =
    choice.follow === 'stream'
      ? `installs ${choice.version} and lets systemd-sysupdate follow ${ext.layout === 'flatcar' ? `the ${use.stream} stream` : streamName(ext, use.stream as string)} (a timer of its own, daily; a new version is merged at the next boot)`
      : `installs ${choice.version} and keeps it`
  const variant = ext.layout === 'flatcar' ? 'Flatcar' : 'Fedora CoreOS'
  return `${heading}
<p>A Butane config that ${escapeHtml(how)}, for ${escapeHtml(choice.arch)}. Pick another version in the table below.</p>
<div class="choices">${line.join('')}</div>
${snippet('butane', `Butane (${variant})`, use.butane)}
${use.transfer === null ? '' : snippet('transfer', `Transfer file: ${use.transfer.path}`, use.transfer.text)}
${snippet('curl', 'curl, checked by its SHA-256', use.curl)}`
}

/** A stream as the page names it: `v1.32`, or `Fedora 42`. */
function streamName(ext: ExtensionPage, stream: string): string {
  return ext.layout === 'flatcar' ? stream : `Fedora ${stream}`
}

/** When a page shows only the newest rows: how many of how many, and where the rest are. */
function shownOf(shown: number, total: number, what: string, sha256sums: string): string {
  if (shown === total) return ''
  return `<p>The newest ${shown} of ${total} ${what}; ${link(sha256sums, 'SHA256SUMS')} lists every image.</p>\n`
}

export function notFoundHtml(
  name: string,
  choices: readonly string[],
  source: string | null,
  base = DIRECTORY,
): string {
  const items = choices.map((choice) => `<li>${link(`${base}${choice}/`, choice)}</li>`)
  const body = `<h1>No extension “${escapeHtml(name)}”</h1>
<p class="lead">The bakery publishes no extension of that name.${fromSource(source)} These are the ones it does:</p>
<ul>
${items.join('\n')}
</ul>`
  return page('Not found · System extensions', [...rootCrumbs(base), [name]], body)
}
