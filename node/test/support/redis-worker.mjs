// One of the processes of the test of four processes on one Redis
// (redis-processes.test.mjs), forked by it. Connects a RedisTracker under
// the prefix it is given (argv), says `ready`; given the ids, tracks each
// twice (a pass of batches, a pass of single calls, all at once) and
// sends the ticks it got; sends each end that its onEnd receives as it
// comes; on `close`, closes the tracker, sends its stats and leaves.

import { RedisTracker } from 'sojourn'

const [keyPrefix, idleTimeout] = process.argv.slice(2)
const send = (message) => new Promise((resolve, reject) => process.send(message, (e) => (e ? reject(e) : resolve())))

const tracker = await RedisTracker.connect({
  redisUrl: process.env.SOJOURN_REDIS_URL,
  keyPrefix,
  idleTimeout: Number(idleTimeout),
  sweepInterval: 25,
  storeTimeout: 2000,
  secret: 'a secret of at least sixteen bytes',
  onEnd: (end) => process.send({ end: [end.session.id, end.reason, end.session.viewSequence] }),
})

process.on('message', async (message) => {
  if (message.ids) {
    const { ids } = message
    // Each process starts at another place in the list.
    const offset = Math.floor((ids.length * message.index) / 4)
    const order = [...ids.slice(offset), ...ids.slice(0, offset)]
    const ticks = []
    const batches = []
    for (let i = 0; i < order.length; i += 100) batches.push(order.slice(i, i + 100))
    const items = (await Promise.all(batches.map((batch) => tracker.trackMany(batch, 'view')))).flat()
    items.forEach((item, i) => ticks.push([order[i], item?.viewSequence ?? String(item)]))
    const singles = await Promise.all(order.map((id) => tracker.track(id, 'view').catch((e) => e)))
    singles.forEach((item, i) => ticks.push([order[i], item?.viewSequence ?? String(item)]))
    await send({ ticks })
  } else if (message === 'close') {
    const dropped = await tracker.close()
    await send({ closed: { dropped, stats: await tracker.stats() } })
    process.disconnect()
  }
})
await send('ready')
