// The check of every thrown error: an `Error` with the expected `code`,
// and a message that matches `pattern` when one is given.

import assert from 'node:assert/strict'

export function throwsCode(f, code, pattern) {
  assert.throws(f, (error) => {
    assert.ok(error instanceof Error, `not an Error: ${error}`)
    assert.equal(error.code, code, `${error.code}: ${error.message}`)
    if (pattern) assert.match(error.message, pattern)
    return true
  })
}
