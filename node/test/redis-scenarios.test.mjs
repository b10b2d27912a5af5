// Every conformance scenario (tests/scenarios/*.json) replayed through
// RedisTracker, on a real redis-server and on a real three-master Redis
// Cluster (scripts/with-redis), each tracker under a key prefix of its own:
// the same results as the memory tracker's, each a Promise. The mock clock
// works with Redis, whose store is given the tracker's time.

import { describe, test } from 'node:test'

import { RedisTracker } from 'sojourn'
import { Run, scenarios } from './support/replay.mjs'
import { TEST_TIMEOUT, target, uniquePrefix } from './support/redis.mjs'

for (const which of ['redis', 'cluster']) {
  describe(`scenarios on ${which === 'cluster' ? 'a Redis Cluster' : 'Redis'}`, () => {
    // A restart, as a process's, forgets everything: a new prefix.
    const make = (options) =>
      RedisTracker.connect({ ...options, ...target(which), keyPrefix: uniquePrefix('scenario'), storeTimeout: TEST_TIMEOUT })
    for (const scenario of scenarios) {
      test(`scenario ${scenario.name}`, async () => {
        const run = await Run.start(scenario, make, { promises: true })
        await run.replay(scenario)
      })
    }
  })
}
