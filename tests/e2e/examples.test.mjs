// The whole loop in a real browser: the example apps of examples/web/,
// each a real server process on a loopback port, opened in Debian's headless
// Chromium (scripts/with-chromium) through playwright-core. A visitor
// browses and clicks, the server restarts (without a snapshot: the browser
// client's token and counters revive the session; with one: the session
// comes back from the file), the visitor clicks again, and the tracker must
// show the same session going on. Screenshots go to target/e2e/.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { connect, createServer } from 'node:net'
import { chromium } from 'playwright-core'

const ROOT = resolve(import.meta.dirname, '../..')
const SHOTS = join(ROOT, 'target', 'e2e')
mkdirSync(SHOTS, { recursive: true })

// Each example: the command that serves it on a port, on the memory store.
const EXAMPLES = {
  express: (port) => ['node', [join(ROOT, 'examples/web/express/server.mjs'), '--port', String(port)]],
  fastapi: (port) => [join(ROOT, '.venv/bin/python'), [join(ROOT, 'examples/web/fastapi/app.py'), '--port', String(port)]]
}

async function freePort () {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address()
  server.close()
  return port
}

/** Starts an example; resolves once it says it listens. */
async function serve (name, port, snapshot) {
  const [command, args] = EXAMPLES[name](port)
  const child = spawn(command, snapshot ? [...args, '--snapshot', snapshot] : args, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit']
  })
  let out = ''
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${out}`)), 30_000)
    child.stdout.on('data', (d) => {
      out += d
      if (out.includes('listening')) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.on('exit', (code) => reject(new Error(`${name} exited (${code}): ${out}`)))
  })
  // Said is not yet done: wait until the port takes a connection.
  for (let tries = 0; ; tries++) {
    const socket = connect(port, '127.0.0.1')
    const connected = await new Promise((resolve) => {
      socket.on('connect', () => resolve(true)).on('error', () => resolve(false))
    })
    socket.destroy()
    if (connected) break
    if (tries > 200) throw new Error(`${name} never took a connection`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return child
}

/** Stops an example as a deploy would (SIGTERM), and waits for it. */
async function stop (child) {
  if (child.exitCode !== null) return
  child.kill('SIGTERM')
  await once(child, 'exit')
}

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
      const browser = await chromium.launch({
        executablePath: process.env.SOJOURN_CHROMIUM,
        args: ['--no-sandbox', '--disable-gpu']
      })
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
