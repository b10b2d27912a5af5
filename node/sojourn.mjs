// ES module entry point: the same classes as `require('sojourn')`.
import sojourn from './sojourn.js'

export const { Tracker, RedisTracker, MockClock, Web, testing, BROWSER_CLIENT, BROWSER_CLIENT_TYPE } = sojourn
export default sojourn
