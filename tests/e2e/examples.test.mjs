// The whole loop in a real browser: the example apps of examples/web/,
// each a real server process on a loopback port, opened in Debian's headless
// Chromium (scripts/with-chromium) through playwright-core. A visitor
// browses and clicks, the server restarts (without a snapshot: the browser
// client's token and counters revive the session; with one: the session
// comes back from the file), the visitor clicks again, and the tracker must
// show the same session going on. Screenshots go to target/e2e/.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EXAMPLES, SHOTS, freePort, launch, serve, stop } from './support.mjs'

/** What the page shows of its session. */
async function shown (page) {
  return page.evaluate(() => ({
    id: document.getElementById('id').textContent,
    views: Number(document.getElementById('views').textContent),
    events: Number(document.getElementById('events').textContent)
  }))
}

/** The session as the server's tracker has it now. */
async function served (page) {
  return page.evaluate(() => fetch('/api/session').then((r) => r.json()))
}

for (const name of Object.keys(EXAMPLES)) {
  for (const snapshot of [false, true]) {
    const mode = snapshot ? 'with a snapshot' : 'without a snapshot'
    test(`${name}: a visit goes on across a restart ${mode}`, { timeout: 60_000 }, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'sojourn-e2e-'))
      const file = snapshot ? join(dir, 'sessions.snap') : undefined
      const port = await freePort()
      let server = await serve(name, port, file)
      const browser = await launch()
      try {
        const page = await browser.newPage()
        await page.goto(`http://127.0.0.1:${port}/`)
        await page.waitForFunction(() => Number(document.getElementById('views').textContent) === 1)
        await page.click('#event')
        await page.waitForFunction(() => Number(document.getElementById('events').textContent) === 1)
        await page.click('#next')
        await page.waitForFunction(() => Number(document.getElementById('views').textContent) === 2)
        const before = await shown(page)
        assert.match(before.id, /^[0-9a-f-]{36}$/)
        assert.equal((await served(page)).session.id, before.id)
        await page.screenshot({ path: join(SHOTS, `${name}-${snapshot ? 'snapshot' : 'plain'}-before.png`) })

        await stop(server)
        server = await serve(name, port, file)

        // The first request after the restart: the snapshot brought the
        // session back; without one, the client's cookie and counters do.
        const first = await served(page)
        assert.equal(first.session.id, before.id)
        assert.equal(first.outcome, snapshot ? 'existing' : 'revived')
        assert.equal(first.session.event_sequence, 1)
        assert.equal(first.session.view_sequence, before.views)

        await page.click('#event')
        await page.waitForFunction(() => Number(document.getElementById('events').textContent) === 2)
        const after = await shown(page)
        assert.equal(after.id, before.id, 'the same session went on')
        assert.equal(after.views, before.views)
        const now = await served(page)
        assert.equal(now.session.id, before.id)
        assert.equal(now.session.event_sequence, 2)
        assert.equal(now.outcome, 'existing', 'by the time the page asks, the tracker has it')
        await page.reload()
        await page.waitForFunction(() => Number(document.getElementById('views').textContent) === 3)
        assert.equal((await shown(page)).id, before.id)
        await page.screenshot({ path: join(SHOTS, `${name}-${snapshot ? 'snapshot' : 'plain'}-after.png`) })
      } finally {
        await browser.close()
        await stop(server)
        rmSync(dir, { recursive: true, force: true })
      }
    })
  }
}
