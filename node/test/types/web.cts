// The CommonJS view of the web layer's types: `require('sojourn/express')`
// and `require('sojourn/fastify')` from TypeScript.
import express = require('express')
import Fastify = require('fastify')
import sojourn = require('sojourn')
import sojournExpress = require('sojourn/express')
import sojournFastify = require('sojourn/fastify')

const tracker = new sojourn.Tracker({ secret: 'a secret of at least sixteen bytes' })
const web: sojourn.Web = new sojourn.Web({ trackViews: true })
const options: sojournExpress.Options<sojourn.Tracker> = { tracker, cookieName: 'sid' }
express().use(sojournExpress(options))
const plugin: sojournFastify.Options = { tracker, collectPath: '/collect' }
void Fastify.fastify().register(sojournFastify, plugin)
void web
