// The browser client (node/browser/sojourn.js) in a real headless Chromium,
// against the Express example (a real server on a loopback port): one
// session across tabs, a beacon when the page goes away, and a server that
// is down for a while losing nothing the client keeps.

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT, freePort, launch, serve, stop } from './support.mjs'

let port, server, browser

before(async () => {
  port = await freePort()
  server = await serve('express', port)
  browser = await launch()
})

after(async () => {
  await browser?.close()
  await stop(server)
})

const url = () => `http://127.0.0.1:${port}/`
const views = (page, n) => page.waitForFunction((n) => Number(document.getElementById('views').textContent) === n, n)
const served = (page) => page.evaluate(() => fetch('/api/session').then((r) => r.json()))

test('the tabs of one visitor share one session and its counters', { timeout: 30_000 }, async () => {
  const context = await browser.newContext()
  const a = await context.newPage()
  await a.goto(url())
  await views(a, 1)
  const b = await context.newPage()
  await b.goto(url())
  await views(b, 2)
  // The first tab hears of the second's view through localStorage.
  await views(a, 2)
  const ids = await Promise.all([a, b].map((p) => p.evaluate(() => window.sojourn.session.id)))
  assert.equal(ids[0], ids[1])
  assert.equal((await served(a)).session.view_sequence, 2)
  await context.close()
})

test('an event still queued when the page goes away is sent by beacon', { timeout: 30_000 }, async () => {
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.goto(url())
  await views(page, 1)
  const id = await page.evaluate(() => window.sojourn.session.id)
  // Queued, not flushed: only the page's going away sends it.
  await page.evaluate(() => {
    window.sojourn.options.flushInterval = 60_000
    window.sojourn.sending = new Promise(() => {})
    window.sojourn.event('left')
  })
  await page.close({ runBeforeUnload: true })
  const other = await context.newPage()
  await other.goto(`${url()}api/session`)
  let session
  for (let tries = 0; tries < 50; tries++) {
    session = JSON.parse(await other.textContent('body')).session
    if (session.event_sequence === 1) break
    await new Promise((resolve) => setTimeout(resolve, 100))
    await other.reload()
  }
  assert.equal(session.id, id)
  assert.equal(session.event_sequence, 1, 'the beacon arrived')
  await context.close()
})

test('what is queued while the server is down is sent when it is back', { timeout: 30_000 }, async () => {
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.goto(url())
  await views(page, 1)
  await stop(server)
  await page.evaluate(() => {
    window.sojourn.options.flushInterval = 200
    window.sojourn.event('offline')
  })
  // Give the failed attempt time to happen, then bring the server back.
  await new Promise((resolve) => setTimeout(resolve, 500))
  server = await serve('express', port)
  await page.waitForFunction(() => Number(document.getElementById('events').textContent) === 1, null, { timeout: 10_000 })
  const now = await served(page)
  assert.equal(now.session.id, await page.evaluate(() => window.sojourn.session.id))
  assert.equal(now.session.event_sequence, 1)
  await context.close()
})

test("the project README's browser snippet gives the page its session", { timeout: 30_000 }, async () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const [, snippet] = /```html\n([\s\S]*?)```/.exec(readme)
  assert.match(snippet, /new Sojourn\(\)/)
  const context = await browser.newContext()
  const page = await context.newPage()
  // The snippet as a page of the app's own origin (its script imports the
  // client the middleware serves there).
  await page.route(`${url()}readme.html`, (route) =>
    route.fulfill({ contentType: 'text/html', body: `<!doctype html><button id="signup">Sign up</button>${snippet}` }))
  await page.goto(`${url()}readme.html`)
  await page.waitForFunction(() => JSON.parse(localStorage.getItem('sojourn'))?.view_sequence === 1)
  await page.click('#signup')
  await page.waitForFunction(() => JSON.parse(localStorage.getItem('sojourn'))?.event_sequence === 1)
  const kept = await page.evaluate(() => JSON.parse(localStorage.getItem('sojourn')))
  const now = await served(page)
  assert.equal(now.session.id, kept.id)
  assert.deepEqual([now.session.view_sequence, now.session.event_sequence], [1, 1])
  await context.close()
})
