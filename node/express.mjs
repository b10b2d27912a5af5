// ES module entry point of `sojourn/express`: the same middleware as `require('sojourn/express')`.
import sojourn from './express.js'

export default sojourn
