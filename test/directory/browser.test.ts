import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import t, { type Test } from 'tap'
import { imageBytes, startBakery } from '../helpers/bakery.js'

/**
 * The directory in a real browser: Debian's Chromium, headless, driven by
 * playwright-core, with JavaScript turned off (the pages need none). The
 * screenshots are kept in test-artifacts/ for people to look at.
 */
// A real browser starting on a busy 2-core machine can outlast tap's 30 s default.
t.setTimeout(120_000)

const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts')
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** A fresh browser; without JavaScript unless asked (the pages need none). */
async function browse(
  t: Test,
  colorScheme: 'light' | 'dark',
  javaScriptEnabled = false,
): Promise<BrowserContext> {
  const profile = await mkdtemp(join(tmpdir(), 'sysext-redirector-chromium-'))
  t.teardown(() => rm(profile, { recursive: true, force: true }))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ARGS,
    javaScriptEnabled,
    colorScheme,
    viewport: { width: 1100, height: 800 },
    acceptDownloads: true,
  })
  t.teardown(() => context.close())
  return context
}

/** Console messages of type error (a CSP violation would be one). */
function errorsOf(page: Page): string[] {
  const errors: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text())
  })
  return errors
}

t.test('the directory in headless Chromium', async (t) => {
  await mkdir(ARTIFACTS, { recursive: true })
  const { github, app } = await startBakery(t)
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  const context = await browse(t, 'light')
  const page = context.pages()[0] ?? (await context.newPage())
  const errors = errorsOf(page)

  const response = await page.goto(`${base}/extensions/`)
  t.equal(response?.status(), 200)
  t.equal(await page.title(), 'System extensions')
  t.equal(await page.locator('h1').textContent(), 'System extensions')
  t.equal(await page.locator('tbody tr').count(), 6, 'one row per extension')
  t.equal(await page.getByRole('navigation', { name: 'Breadcrumb' }).count(), 1)
  // The inline stylesheet applied: its hash is in the page's CSP.
  // (Runs in the page; this file is compiled without the DOM types.)
  type Styled = { getComputedStyle(element: unknown): { borderBottomWidth: string } }
  const border = await page
    .locator('header')
    .evaluate((el) => (globalThis as unknown as Styled).getComputedStyle(el).borderBottomWidth)
  t.equal(border, '3px', 'the inline style applies under the CSP')
  await page.screenshot({ path: join(ARTIFACTS, 'directory-listing.png'), fullPage: true })

  await page.getByRole('link', { name: 'docker-compose', exact: true }).click()
  await page.waitForURL(`${base}/extensions/docker-compose/`)
  t.equal(await page.locator('h1').textContent(), 'docker-compose')
  t.equal(await page.getByRole('table').count(), 3, 'newest, streams and all versions')
  t.ok(
    (await page.getByText('not published').count()) > 0,
    'a missing image is said, not just shown',
  )
  await page.screenshot({ path: join(ARTIFACTS, 'directory-extension.png'), fullPage: true })

  // Every link on the page leads through the service to the fake GitHub.
  const links = await page
    .locator('main a')
    .evaluateAll((as) => as.map((a) => a.getAttribute('href') as string))
  t.ok(links.length >= 8, `${links.length} links`)
  for (const href of links) {
    const res = await context.request.get(new URL(href, page.url()).href, { maxRedirects: 0 })
    if (href.startsWith('?')) {
      // A choice of the "Use it" section: this page again, for that choice.
      t.equal(res.status(), 200, href)
      t.match(await res.text(), '<h2 id="use">Use it</h2>', `${href}: the page, for that choice`)
      continue
    }
    if (href.endsWith('/SHA256SUMS')) {
      // The manifest: served from the adopted snapshot, with its bytes.
      t.equal(res.status(), 200, href)
      t.match(await res.text(), /^[0-9a-f]{64} {2}docker-compose-/, `${href}: the manifest`)
      continue
    }
    t.equal(res.status(), 302, href)
    t.ok(
      res.headers().location?.startsWith(`${github.url}/flatcar/sysext-bakery/releases/download/`),
      `${href} → GitHub`,
    )
  }

  // And clicking one downloads the image itself, through GitHub's redirect.
  for (const [name, file] of [
    ['/extensions/docker-compose.raw', 'docker-compose-2.34.0-x86-64.raw'],
    ['docker-compose-2.33.1-x86-64.raw', 'docker-compose-2.33.1-x86-64.raw'],
  ] as const) {
    const link = page.getByRole('link', { name, exact: true })
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()])
    t.equal(
      download.url().startsWith(`${github.url}/storage/`),
      true,
      `${name}: fetched from the storage host`,
    )
    t.equal(
      await readFile(await download.path(), 'utf8'),
      imageBytes(file),
      `${name}: the bytes of ${file}`,
    )
  }

  t.same(errors, [], 'no console errors (no CSP violation)')
  const missing = await page.goto(`${base}/extensions/nosuch/`)
  t.equal(missing?.status(), 404)
  t.equal(
    await page.getByRole('link', { name: 'kubernetes' }).count(),
    1,
    'the 404 offers the choices',
  )
})

t.test('dark colour scheme', async (t) => {
  const { app } = await startBakery(t)
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  const context = await browse(t, 'dark')
  const page = context.pages()[0] ?? (await context.newPage())
  await page.goto(`${base}/extensions/kubernetes/`)
  t.equal(await page.locator('h1').textContent(), 'kubernetes')
  await page.screenshot({ path: join(ARTIFACTS, 'directory-extension-dark.png'), fullPage: true })
})

t.test('with JavaScript: a copy button per snippet, and the listing’s filter', async (t) => {
  await mkdir(ARTIFACTS, { recursive: true })
  const { app } = await startBakery(t)
  const base = await app.listen({ port: 0, host: '127.0.0.1' })
  const context = await browse(t, 'light', true)
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base })
  const page = context.pages()[0] ?? (await context.newPage())
  const errors = errorsOf(page)

  await page.goto(`${base}/extensions/`)
  const filter = page.getByLabel('Filter by name')
  t.equal(await filter.isVisible(), true, 'the script shows the filter')
  await filter.fill('dock')
  t.equal(await page.locator('tbody tr:visible').count(), 2, 'docker and docker-compose')
  await filter.press('Tab')
  await page.screenshot({ path: join(ARTIFACTS, 'directory-listing-filtered.png'), fullPage: true })

  await page.goto(`${base}/extensions/kubernetes/?use=stream`)
  const buttons = page.getByRole('button', { name: 'Copy' })
  t.equal(await buttons.count(), 3, 'Butane, the transfer file and curl')
  // Keyboard reachable: Tab lands on a copy button, Enter presses it.
  const butane = page.locator('button[data-copy="butane"]')
  await butane.focus()
  await page.keyboard.press('Enter')
  await page.getByRole('button', { name: 'Copied' }).waitFor()
  type Clipboard = { navigator: { clipboard: { readText(): Promise<string> } } }
  const copied = await page.evaluate(() =>
    (globalThis as unknown as Clipboard).navigator.clipboard.readText(),
  )
  const shown = await page.locator('#butane').textContent()
  t.equal(copied, shown, 'the clipboard holds the snippet as shown')
  t.match(copied, /^variant: flatcar\nversion: 1\.0\.0\n/)
  t.match(copied, 'MatchPattern=kubernetes-v1.33.@v-x86-64.raw')
  await page.screenshot({ path: join(ARTIFACTS, 'directory-extension-use.png'), fullPage: true })
  // Readable on a phone: the snippets scroll inside their box, not the page.
  await page.setViewportSize({ width: 390, height: 844 })
  type Sized = { document: { documentElement: { scrollWidth: number; clientWidth: number } } }
  const widths = await page.evaluate(() => {
    const root = (globalThis as unknown as Sized).document.documentElement
    return [root.scrollWidth, root.clientWidth]
  })
  t.equal(widths[0], widths[1], 'no sideways scrolling of the page')
  await page.screenshot({ path: join(ARTIFACTS, 'directory-extension-phone.png'), fullPage: true })
  t.same(errors, [], 'no console errors (the script runs under the CSP)')
})
