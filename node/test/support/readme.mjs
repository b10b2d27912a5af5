// The JavaScript examples of README.md, each a whole program: run by the
// README test in this package, and by the pack test where the packed
// tarball is installed. The web frameworks' servers (```js server blocks,
// which listen until stopped) are run by the web README test.

import { readFileSync } from 'node:fs'

const README = new URL('../../README.md', import.meta.url)
/** The project's README, whose Node section runs here too. */
export const PROJECT_README = new URL('../../../README.md', import.meta.url)

/**
 * The environment an example runs in: the Redis of scripts/with-redis as
 * `REDIS_URL`, which the example of RedisTracker connects to.
 */
export function exampleEnv() {
  const url = process.env.SOJOURN_REDIS_URL
  if (!url) throw new Error('SOJOURN_REDIS_URL is not set: run the tests through scripts/with-redis (make node-test does)')
  return { ...process.env, REDIS_URL: url }
}

/** Every ```js block, with the flag `node` needs to run it from `-e`. */
export function readmeExamples(readme = README) {
  const text = readFileSync(readme, 'utf8')
  return [...text.matchAll(/```js\n([\s\S]*?)```/g)].map(([, code]) => ({
    code,
    flags: /^import /m.test(code) ? ['--input-type=module'] : [],
  }))
}

/** Every ```js server block: a program that serves on `PORT` until it is stopped. */
export function readmeServers(readme = README) {
  const text = readFileSync(readme, 'utf8')
  return [...text.matchAll(/```js server\n([\s\S]*?)```/g)].map(([, code]) => code)
}
