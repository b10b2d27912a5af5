// ES module entry point of `sojourn/fastify`: the same plugin as `require('sojourn/fastify')`.
import sojourn from './fastify.js'

export default sojourn
