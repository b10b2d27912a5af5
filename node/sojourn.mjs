// ES module entry point: the same classes as `require('sojourn')`.
import sojourn from './sojourn.js'

export const { Tracker, MockClock, testing } = sojourn
export default sojourn
