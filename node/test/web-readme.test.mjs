// The README's "Web frameworks" section: each server it shows (```js
// server blocks: the Express and the Fastify one-line setup) runs as a
// program of its own on a free port, and does what the section says to a
// real HTTP client; its table of options is the core's, defaults included.

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'

import { BROWSER_CLIENT, BROWSER_CLIENT_TYPE, Web } from 'sojourn'
import { freePort } from './support/redis.mjs'
import { PROJECT_README, readmeServers } from './support/readme.mjs'
import { cookieOf, post, sessionCookie } from './support/web.mjs'

const PACKAGE = fileURLToPath(new URL('..', import.meta.url))
const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
const servers = readmeServers()
const SESSION = /^visit ([0-9a-f-]{36}) \((started|existing|revived)\)$/

/** Starts `code` with `PORT`; resolves once it answers `/`, with `{ url, stop, stderr }`. */
async function start(code) {
  const port = await freePort()
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
    cwd: PACKAGE,
    env: { ...process.env, PORT: String(port), SOJOURN_SECRET: 'the secret of the README test' },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (chunk) => (stderr += chunk))
  const exited = once(child, 'exit')
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 15_000
  for (;;) {
    assert.equal(child.exitCode, null, `the example exited: ${stderr}`)
    try {
      await fetch(`${url}/healthz`)
      break
    } catch {}
    assert.ok(Date.now() < deadline, `the example did not listen on ${port}: ${stderr}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return {
    url,
    stderr: () => stderr,
    async stop() {
      child.kill('SIGTERM')
      await exited
    },
  }
}

test('the section shows one server for each framework, each in one line', () => {
  assert.equal(servers.length, 2)
  assert.match(servers[0], /^import sojourn from 'sojourn\/express'$/m)
  assert.match(servers[0], /^app\.use\(sojourn\(\{ tracker \}\)\)$/m)
  assert.match(servers[1], /^import sojourn from 'sojourn\/fastify'$/m)
  assert.match(servers[1], /^app\.register\(sojourn, \{ tracker \}\)$/m)
})

test("the project README's servers are these, letter for letter", () => {
  assert.deepEqual(readmeServers(PROJECT_README), servers)
})

for (const [i, code] of servers.entries()) {
  const name = i === 0 ? 'Express' : 'Fastify'
  test(`the README's ${name} server runs, and gives a visitor its session`, async () => {
    const server = await start(code)
    try {
      const first = await fetch(`${server.url}/`)
      const [, id, outcome] = SESSION.exec(await first.text()) ?? []
      assert.equal(outcome, 'started')
      const cookie = sessionCookie(first.headers.getSetCookie())
      assert.match(cookie, new RegExp(`^sojourn=${id}\\.[^;]+; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax$`))
      const again = await fetch(`${server.url}/`, { headers: { cookie: cookieOf(cookie) } })
      assert.equal(await again.text(), `visit ${id} (existing)`)
      const collected = await post(`${server.url}/sojourn/collect`, { items: [{ kind: 'view' }] }, { cookie: cookieOf(cookie) })
      assert.deepEqual([collected.status, collected.json.session.id, collected.json.ticks[0].view_sequence], [200, id, 1])
      const client = await fetch(`${server.url}/sojourn/browser.js`)
      assert.deepEqual(
        [client.status, client.headers.get('content-type'), client.headers.get('cache-control'), client.headers.getSetCookie()],
        [200, BROWSER_CLIENT_TYPE, 'public, max-age=3600', []],
      )
      assert.equal(await client.text(), BROWSER_CLIENT, 'the browser client, as the section says')
      const health = await fetch(`${server.url}/healthz`)
      assert.equal(health.status, 404)
      assert.deepEqual(health.headers.getSetCookie(), [], 'the filter leaves health checks alone')
    } finally {
      await server.stop()
    }
    assert.equal(server.stderr(), '', 'nothing on stderr: no warning')
  })
}

test("the table of options is Web's, with the core's defaults", () => {
  const section = README.slice(README.indexOf('## Web frameworks'), README.indexOf('## Session ends'))
  const rows = new Map(
    [...section.matchAll(/^\| `(\w+)` \| (.*?) \| .* \|$/gm)].map(([, name, value]) => [name, value]),
  )
  const defaults = new Web().options()
  assert.deepEqual([...rows.keys()].sort(), Object.keys(defaults).sort())
  const listed = (value) => [...value.matchAll(/`([^`]+)`/g)].map(([, item]) => item)
  const expected = {
    cookieName: `\`'${defaults.cookieName}'\``,
    cookiePath: `\`'${defaults.cookiePath}'\``,
    sameSite: `\`'${defaults.sameSite}'\``,
    secure: `\`'${defaults.secure}'\``,
    tokenHeader: `\`'${defaults.tokenHeader}'\``,
    collectPath: `\`'${defaults.collectPath}'\``,
    clientPath: `\`'${defaults.clientPath}'\``,
    maxBodyBytes: defaults.maxBodyBytes.toLocaleString('en-US'),
    maxItems: defaults.maxItems.toLocaleString('en-US'),
    trackViews: `\`${defaults.trackViews}\``,
  }
  for (const [name, value] of Object.entries(expected)) assert.equal(rows.get(name), value, name)
  assert.equal(defaults.cookieDomain, null)
  assert.equal(rows.get('cookieDomain'), 'none')
  assert.equal(defaults.cookieMaxAge, null)
  assert.equal(rows.get('cookieMaxAge'), "the tracker's `retention`")
  // The short lists in full; the long ones begin with some of theirs.
  assert.deepEqual(listed(rows.get('skipPaths')), defaults.skipPaths)
  assert.deepEqual(listed(rows.get('skipPrefixes')), defaults.skipPrefixes)
  for (const list of ['skipExtensions', 'botWords']) {
    const shown = listed(rows.get(list))
    assert.ok(shown.length > 0 && rows.get(list).includes('…'), list)
    for (const item of shown) assert.ok(defaults[list].includes(item), `${list}: ${item}`)
  }
})
