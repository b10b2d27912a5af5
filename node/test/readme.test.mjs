// The README's examples run, and do what they say.

import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'

import { PROJECT_README, readmeExamples } from './support/readme.mjs'

const PACKAGE = fileURLToPath(new URL('..', import.meta.url))
const examples = readmeExamples()

test('the README has its examples', () => {
  assert.ok(examples.length >= 3, `found ${examples.length}`)
  assert.match(examples[0].code, /import \{ Tracker \} from 'sojourn'/)
  assert.match(examples[1].code, /require\('sojourn'\)/)
})

for (const [i, { code, flags }] of examples.entries()) {
  test(`README example ${i + 1} runs`, () => {
    const out = execFileSync(process.execPath, [...flags, '-e', code], { cwd: PACKAGE, encoding: 'utf8' })
    if (i === 0) assert.match(out, /^[0-9a-f-]{36} ended \(ended\) after \d+ ms\n$/)
  })
}

test("the project README's Node example runs", () => {
  const [example, ...more] = readmeExamples(PROJECT_README)
  assert.equal(more.length, 0)
  const out = execFileSync(process.execPath, [...example.flags, '-e', example.code], { cwd: PACKAGE, encoding: 'utf8' })
  assert.equal(out, 'started 1\nended 1\n')
})
