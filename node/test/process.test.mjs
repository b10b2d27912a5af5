// The tracker and the Node process: a tracker never keeps the process
// alive, exits with or without close() are clean, close() delivers the
// last ends, and trackers that are garbage-collected release everything.
// Each case is a child process, timed out rather than left hanging.

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, test } from 'node:test'

const PACKAGE = fileURLToPath(new URL('..', import.meta.url))

// Runs `code` as an ES module in the package folder, so `sojourn` is this
// package; kills it after `timeout` ms.
function run(code, { args = [], timeout = 20_000 } = {}) {
  return new Promise((resolve) => {
    const started = Date.now()
    const child = spawn(process.execPath, [...args, '--input-type=module', '-e', code], { cwd: PACKAGE })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout)
    child.on('close', (status, signal) => {
      clearTimeout(timer)
      resolve({ status, signal, stdout, stderr, ms: Date.now() - started })
    })
  })
}

function assertClean(result) {
  assert.equal(result.signal, null, `killed by ${result.signal} after ${result.ms} ms\n${result.stderr}`)
  assert.equal(result.status, 0, result.stderr)
}

describe('the process', () => {
  test('a script that makes a tracker with onEnd and returns exits at once', async () => {
    // A minute between sweeps: a process held by the driver or by onEnd
    // would be killed by the timeout instead of exiting.
    const result = await run(`
      import { Tracker } from 'sojourn'
      const tracker = new Tracker({ sweepInterval: 60_000, onEnd: (end) => console.log('end', end.reason) })
      const session = tracker.start()
      tracker.track(session.id, 'view')
      console.log('done')
    `)
    assertClean(result)
    assert.equal(result.stdout, 'done\n')
    assert.ok(result.ms < 10_000, `took ${result.ms} ms`)
  })

  test('close() at the end of a script delivers the pending ends before the exit', async () => {
    const result = await run(`
      import { Tracker } from 'sojourn'
      const tracker = new Tracker({ sweepInterval: 60_000, onEnd: (end) => console.log('end', end.reason, end.session.viewSequence) })
      for (let i = 0; i < 3; i++) {
        const session = tracker.start()
        tracker.track(session.id, 'view')
        tracker.end(session.id)
      }
      tracker.close()
    `)
    assertClean(result)
    assert.equal(result.stdout, 'end ended 1\n'.repeat(3))
  })

  test('exiting without close() while the driver delivers ends is clean', async () => {
    for (let i = 0; i < 5; i++) {
      const result = await run(`
        import { Tracker } from 'sojourn'
        for (let k = 0; k < 4; k++) {
          const tracker = new Tracker({ idleTimeout: 1, sweepInterval: 1, onEnd: () => {} })
          for (let j = 0; j < 2_000; j++) tracker.start()
        }
        setTimeout(() => {}, ${i * 3})
      `)
      assertClean(result)
    }
  })

  test('process.exit() with live trackers and queued ends is clean', async () => {
    const result = await run(`
      import { Tracker } from 'sojourn'
      const tracker = new Tracker({ sweepInterval: 1, onEnd: () => {} })
      for (let j = 0; j < 1_000; j++) tracker.end(tracker.start().id)
      process.exit(0)
    `)
    assertClean(result)
  })

  test('garbage-collected trackers release their driver and onEnd', async () => {
    const result = await run(
      `
      import { Tracker } from 'sojourn'
      let delivered = 0
      for (let i = 0; i < 200; i++) {
        const tracker = new Tracker({ sweepInterval: 1, onEnd: () => delivered++ })
        tracker.end(tracker.start().id)
      }
      globalThis.gc()
      await new Promise((resolve) => setTimeout(resolve, 50))
      globalThis.gc()
      console.log('alive')
    `,
      { args: ['--expose-gc'] },
    )
    assertClean(result)
    assert.equal(result.stdout, 'alive\n')
  })

  test('an onEnd that throws is reported on stderr and the process goes on', async () => {
    const result = await run(`
      import { Tracker } from 'sojourn'
      const tracker = new Tracker({ sweepInterval: 0, onEnd: () => { throw new Error('boom') } })
      tracker.end(tracker.start().id)
      tracker.close()
      setTimeout(() => console.log('still here'), 20)
    `)
    assertClean(result)
    assert.equal(result.stdout, 'still here\n')
    assert.match(result.stderr, /SojournWarning: onEnd threw for session [0-9a-f-]{36}: Error: boom/)
  })
})
