// `npm pack` gives a tarball that installs into an empty folder and works
// there: the README's examples run against the installed copy, without
// Express or Fastify (optional peers); the middlewares load from it,
// `sojourn/fastify` once `fastify-plugin` is installed beside it; the
// browser client for bundlers, `sojourn/browser`, resolves to its module
// (which needs a browser to run: it is checked to be the text the
// middlewares serve, and to parse as a module).

import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { after, test } from 'node:test'

import { exampleEnv, readmeExamples } from './support/readme.mjs'

const PACKAGE = fileURLToPath(new URL('..', import.meta.url))
const work = mkdtempSync(join(tmpdir(), 'sojourn-pack-'))
after(() => rmSync(work, { recursive: true, force: true }))

const npm = (args, cwd) =>
  execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8' })

test('the packed tarball installs into an empty folder and runs the README there', () => {
  const packed = JSON.parse(npm(['pack', '--json', '--pack-destination', work], PACKAGE))
  const files = packed[0].files.map((f) => f.path).sort()
  assert.deepEqual(
    files.filter((f) => !f.endsWith('.node')),
    [
      'README.md',
      'browser/package.json',
      'browser/sojourn.d.ts',
      'browser/sojourn.js',
      'express.d.ts',
      'express.js',
      'express.mjs',
      'fastify.d.ts',
      'fastify.js',
      'fastify.mjs',
      'index.d.ts',
      'index.js',
      'package.json',
      'sojourn.d.ts',
      'sojourn.js',
      'sojourn.mjs',
      'web.js',
    ],
  )
  assert.equal(files.filter((f) => f.endsWith('.node')).length, 1, 'one addon')

  const app = join(work, 'app')
  execFileSync('mkdir', [app])
  npm(['install', join(work, packed[0].filename)], app)
  assert.deepEqual(readdirSync(join(app, 'node_modules')).filter((f) => !f.startsWith('.')), ['sojourn'])

  for (const { code, flags } of readmeExamples()) {
    execFileSync(process.execPath, [...flags, '-e', code], { cwd: app, encoding: 'utf8', env: exampleEnv(), timeout: 20_000 })
  }

  const load = (specifier) =>
    execFileSync(process.execPath, ['-e', `console.log(typeof require(${JSON.stringify(specifier)}))`], { cwd: app, encoding: 'utf8', stdio: 'pipe' })
  assert.equal(load('sojourn/express'), 'function\n', 'the Express middleware needs nothing of Express')
  assert.throws(() => load('sojourn/fastify'), /Cannot find module 'fastify-plugin'/)
  npm(['install', '--prefer-offline', 'fastify-plugin@5'], app)
  assert.equal(load('sojourn/fastify'), 'function\n')

  // `import('sojourn/browser')` resolves to the module file, with its types beside it.
  const installed = join(app, 'node_modules', 'sojourn')
  const resolved = execFileSync(
    process.execPath,
    ['--input-type=module', '-e', "console.log(import.meta.resolve('sojourn/browser'))"],
    { cwd: app, encoding: 'utf8' },
  ).trim()
  const module = join(installed, 'browser', 'sojourn.js')
  assert.equal(resolved, pathToFileURL(module).href)
  assert.ok(existsSync(join(installed, 'browser', 'sojourn.d.ts')))
  const served = execFileSync(process.execPath, ['-e', "process.stdout.write(require('sojourn').BROWSER_CLIENT)"], { cwd: app, encoding: 'utf8' })
  assert.match(served, /^export class Sojourn \{/m)
  assert.equal(readFileSync(module, 'utf8'), served, 'the module is the text the middlewares serve')
  // A module to Node too (its folder's package.json says so): it parses as one.
  execFileSync(process.execPath, ['--check', module], { stdio: 'pipe' })
})
