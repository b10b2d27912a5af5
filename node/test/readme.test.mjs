// The README's examples run, and do what they say.

import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'

import { PROJECT_README, exampleEnv, readmeExamples } from './support/readme.mjs'

const PACKAGE = fileURLToPath(new URL('..', import.meta.url))
const examples = readmeExamples()

/** Runs an example; returns its output, once it has exited cleanly and warned of nothing. */
function run({ code, flags }) {
  const { status, stdout, stderr } = spawnSync(process.execPath, [...flags, '-e', code], {
    cwd: PACKAGE,
    encoding: 'utf8',
    env: exampleEnv(),
    timeout: 20_000,
  })
  assert.equal(status, 0, stderr)
  // Every example uses a secret, or says `unsignedTokens: true`.
  assert.equal(stderr, '', 'nothing on stderr: no warning')
  return stdout
}

test('the README has its examples', () => {
  assert.ok(examples.length >= 3, `found ${examples.length}`)
  assert.match(examples[0].code, /import \{ Tracker \} from 'sojourn'/)
  assert.match(examples[1].code, /require\('sojourn'\)/)
  assert.ok(
    examples.some(({ code }) => /RedisTracker\.connect/.test(code)),
    'an example of RedisTracker',
  )
})

for (const [i, { code, flags }] of examples.entries()) {
  test(`README example ${i + 1} runs`, () => {
    const out = run({ code, flags })
    if (i === 0) assert.match(out, /^[0-9a-f-]{36} ended \(ended\) after \d+ ms\n$/)
  })
}

test("the project README's Node example runs", () => {
  const [example, ...more] = readmeExamples(PROJECT_README)
  assert.equal(more.length, 0)
  // The project's README belongs to the whole project: its warnings are
  // not checked here.
  const { status, stdout, stderr } = spawnSync(process.execPath, [...example.flags, '-e', example.code], {
    cwd: PACKAGE,
    encoding: 'utf8',
  })
  assert.equal(status, 0, stderr)
  assert.equal(stdout, 'started 1\nended 1\n')
})
