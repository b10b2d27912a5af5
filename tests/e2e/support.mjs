// What the browser tests share: the example apps as real server processes
// on loopback ports, and Debian's Chromium (scripts/with-chromium).

import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { connect, createServer } from 'node:net'
import { chromium } from 'playwright-core'

export const ROOT = resolve(import.meta.dirname, '../..')
export const SHOTS = join(ROOT, 'target', 'e2e')
mkdirSync(SHOTS, { recursive: true })

// Each example: the command that serves it on a port, on the memory store.
export const EXAMPLES = {
  express: (port) => ['node', [join(ROOT, 'examples/web/express/server.mjs'), '--port', String(port)]],
  fastapi: (port) => [join(ROOT, '.venv/bin/python'), [join(ROOT, 'examples/web/fastapi/app.py'), '--port', String(port)]]
}

export async function freePort () {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address()
  server.close()
  return port
}

/** Starts an example; resolves once it says it listens. */
export async function serve (name, port, snapshot) {
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
export async function stop (child) {
  if (child.exitCode !== null) return
  child.kill('SIGTERM')
  await once(child, 'exit')
}

/** Debian's Chromium, headless. */
export function launch () {
  return chromium.launch({
    executablePath: process.env.SOJOURN_CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu']
  })
}
