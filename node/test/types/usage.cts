// The CommonJS view of the same types: `require('sojourn')` from TypeScript.
import sojourn = require('sojourn')

const tracker: sojourn.Tracker = new sojourn.Tracker({ sweepInterval: 0 })
const session: sojourn.Session = tracker.start()
const size: number = tracker.size
const clock: sojourn.MockClock = new sojourn.MockClock(0)
tracker.close()
void [session, size, clock]
