// The tracker and the Node process: a tracker never keeps the process
// alive, exits with or without close() are clean, close() delivers the
// last ends (even right before process.exit()), trackers that are
// garbage-collected release everything, memory stays flat under a flood
// of ends and across worker threads that exit with ends pending. Each case
// is a child process, timed out rather than left hanging.

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, test } from 'node:test'

const PACKAGE = fileURLToPath(new URL('..', import.meta.url))
const SECRET = 'a secret of at least sixteen bytes'

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
      const tracker = new Tracker({ secret: '${SECRET}', sweepInterval: 60_000, onEnd: (end) => console.log('end', end.reason) })
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
      const tracker = new Tracker({ secret: '${SECRET}', sweepInterval: 60_000, onEnd: (end) => console.log('end', end.reason, end.session.viewSequence) })
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
          const tracker = new Tracker({ secret: '${SECRET}', idleTimeout: 1, sweepInterval: 1, onEnd: () => {} })
          for (let j = 0; j < 2_000; j++) tracker.start()
        }
        setTimeout(() => {}, ${i * 3})
      `)
      assertClean(result)
    }
  })

  test('close() then process.exit() delivers every pending end first', async () => {
    const result = await run(`
      import { Tracker } from 'sojourn'
      let delivered = 0
      const tracker = new Tracker({ secret: '${SECRET}', sweepInterval: 60_000, onEnd: () => { delivered += 1 } })
      for (let j = 0; j < 1_000; j++) tracker.end(tracker.start().id)
      process.on('exit', () => console.log(delivered, tracker.stats().endsPending))
      tracker.close()
      process.exit(0)
    `)
    assertClean(result)
    assert.equal(result.stdout, '1000 0\n')
  })

  test('process.exit() with live trackers and queued ends is clean', async () => {
    const result = await run(`
      import { Tracker } from 'sojourn'
      const tracker = new Tracker({ secret: '${SECRET}', sweepInterval: 1, onEnd: () => {} })
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
        const tracker = new Tracker({ secret: '${SECRET}', sweepInterval: 1, onEnd: () => delivered++ })
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

  test('a tracker without a secret warns through process.emitWarning alone', async () => {
    const result = await run(`
      import { Tracker } from 'sojourn'
      new Tracker({ sweepInterval: 0 }).close()
      new Tracker({ sweepInterval: 0, unsignedTokens: true }).close()
    `)
    assertClean(result)
    const lines = result.stderr.split('\n').filter((line) => /SOJOURN|sojourn/.test(line))
    assert.equal(lines.length, 1, result.stderr)
    assert.match(lines[0], /^\(node:\d+\) \[SOJOURN_UNSIGNED_TOKENS\] SojournWarning: no secret is set/)
  })

  test('an onEnd that throws is reported on stderr and the process goes on', async () => {
    const result = await run(`
      import { Tracker } from 'sojourn'
      const tracker = new Tracker({ secret: '${SECRET}', sweepInterval: 0, onEnd: () => { throw new Error('boom') } })
      tracker.end(tracker.start().id)
      tracker.close()
      setTimeout(() => console.log('still here'), 20)
    `)
    assertClean(result)
    assert.equal(result.stdout, 'still here\n')
    assert.match(result.stderr, /SojournWarning: onEnd threw for session [0-9a-f-]{36}: Error: boom/)
  })
})

describe('memory', () => {
  test('stays flat under a flood of ends, and what overflows the bound is counted', async (t) => {
    // 20,000 live at most: every start past them evicts one, whose end
    // goes to onEnd (and whose record is soon forgotten: maxDormant). With
    // the event loop turning between bursts of 50,000 starts, every end is
    // delivered on the next turn and RSS stays flat; without a turn, the
    // queue holds the newest maxPendingEnds, and counts the rest.
    const result = await run(
      `
      import { Tracker } from 'sojourn'
      const rss = () => Math.round(process.memoryUsage.rss() / 2 ** 20)
      const turn = () => new Promise((resolve) => setImmediate(resolve))
      const options = { secret: '${SECRET}', maxSessions: 20_000, maxDormant: 20_000, onEnd: () => { delivered += 1 } }
      let delivered = 0
      const tracker = new Tracker(options)
      const samples = []
      for (let n = 1; n <= 12; n++) {
        for (let i = 0; i < 50_000; i++) tracker.start()
        await turn()
        if (n % 4 === 0) samples.push(rss())
      }
      await turn()
      const a = tracker.stats()
      const flood = { delivered, evicted: a.ended.evicted, dropped: a.endsDropped, pending: a.endsPending, samples }
      tracker.close()

      delivered = 0
      const bounded = new Tracker({ ...options, maxPendingEnds: 30_000 })
      for (let i = 0; i < 150_000; i++) bounded.start()
      const b = bounded.stats()
      await turn()
      await turn()
      const burst = { delivered, evicted: b.ended.evicted, dropped: b.endsDropped, pending: b.endsPending, rss: rss() }
      bounded.close()
      console.log(JSON.stringify({ flood, burst }))
    `,
      { timeout: 60_000 },
    )
    assertClean(result)
    const { flood, burst } = JSON.parse(result.stdout)
    t.diagnostic(`flood: ${JSON.stringify(flood)}; burst: ${JSON.stringify(burst)}; ${result.ms} ms`)
    assert.deepEqual([flood.evicted, flood.delivered, flood.dropped, flood.pending], [580_000, 580_000, 0, 0])
    // RSS after 200,000, 400,000 and 600,000 starts: flat, the ends
    // delivered as fast as they come (an end not delivered holds ~400 B).
    const growth = flood.samples[2] - flood.samples[0]
    assert.ok(growth < 32, `RSS grew by ${growth} MB: ${flood.samples}`)
    assert.deepEqual([burst.evicted, burst.pending, burst.delivered, burst.dropped], [130_000, 30_000, 30_000, 100_000])
    assert.ok(burst.rss - flood.samples[0] < 64, `RSS ${burst.rss} MB after the burst`)
  })

  test('worker threads that exit with ends pending leave nothing behind', async (t) => {
    // Each worker makes a tracker with an onEnd, ends 2,000 sessions with
    // a kilobyte of attributes each (their ends pending: the worker's event
    // loop never turns), and exits. The main process's RSS after 100
    // workers is what it was after 20.
    const result = await run(
      `
      import { Worker } from 'node:worker_threads'
      import { createRequire } from 'node:module'
      const entry = createRequire(import.meta.url).resolve('sojourn')
      const code = \`
        const { Tracker } = require(\${JSON.stringify(entry)})
        let delivered = 0
        const tracker = new Tracker({ secret: '${SECRET}', sweepInterval: 1000, onEnd: () => { delivered += 1 } })
        const attrs = { blob: 'x'.repeat(1000) }
        for (let i = 0; i < 2000; i++) tracker.end(tracker.start({ attrs }).id)
        if (delivered !== 0) throw new Error('delivered already')
      \`
      const worker = () =>
        new Promise((resolve, reject) => {
          const w = new Worker(code, { eval: true, execArgv: [] })
          w.on('error', reject)
          w.on('exit', resolve)
        })
      const rss = () => Math.round(process.memoryUsage.rss() / 2 ** 20)
      const samples = {}
      for (let n = 2; n <= 100; n += 2) {
        await Promise.all([worker(), worker()])
        if (n === 20 || n === 100) {
          globalThis.gc()
          samples[n] = rss()
        }
      }
      console.log(JSON.stringify(samples))
    `,
      { args: ['--expose-gc'], timeout: 60_000 },
    )
    assertClean(result)
    const samples = JSON.parse(result.stdout)
    t.diagnostic(`RSS after 20 and 100 workers: ${JSON.stringify(samples)} MB; ${result.ms} ms`)
    const growth = samples[100] - samples[20]
    assert.ok(growth < 48, `RSS grew by ${growth} MB from 20 to 100 workers: ${JSON.stringify(samples)}`)
  })
})

describe('a driver thread that cannot start', () => {
  // Threads are refused through a pids cgroup that the child joins and
  // then closes to any new task; as root, `ulimit -u` refuses nothing.
  const PIDS = '/sys/fs/cgroup/pids'
  const usable = (() => {
    try {
      return process.getuid() === 0 && fs.statSync(PIDS).isDirectory() && (fs.accessSync(PIDS, fs.constants.W_OK), true)
    } catch {
      return false
    }
  })()

  test('is reported with SOJOURN_NO_DRIVER, and the tracker\'s calls sweep instead', { skip: !usable && 'needs root and a writable pids cgroup' }, async () => {
    const group = `${PIDS}/sojourn-node-test-${process.pid}-${Date.now()}`
    fs.mkdirSync(group)
    try {
      const result = await run(`
        import fs from 'node:fs'
        import { MockClock, Tracker } from 'sojourn'
        fs.writeFileSync(${JSON.stringify(group)} + '/cgroup.procs', String(process.pid))
        // Every task now in the group, and not one more.
        fs.writeFileSync(${JSON.stringify(group)} + '/pids.max', fs.readFileSync(${JSON.stringify(group)} + '/pids.current', 'utf8').trim())
        const warnings = []
        process.on('warning', (w) => warnings.push(w.code))
        const ends = []
        const clock = new MockClock(Date.parse('2026-01-01T00:00:00Z'))
        const tracker = new Tracker({ secret: ${JSON.stringify(SECRET)}, clock, idleTimeout: 60_000, sweepInterval: 1_000, onEnd: (e) => ends.push(e.reason) })
        tracker.start()
        clock.advance(61_000)
        tracker.start() // the first call past the interval sweeps
        await new Promise((resolve) => setImmediate(resolve))
        await new Promise((resolve) => setImmediate(resolve))
        console.log(JSON.stringify({ warnings, ends }))
        tracker.close()
      `)
      assertClean(result)
      assert.deepEqual(JSON.parse(result.stdout), { warnings: ['SOJOURN_NO_DRIVER'], ends: ['idle'] })
    } finally {
      fs.rmdirSync(group)
    }
  })
})
