//! Node bindings of sojourn (napi-rs). Every rule and default lives in
//! the core; this crate converts JavaScript values into the core's types
//! and back, delivers ends on Node's main thread, and maps the core's errors to JavaScript
//! errors with a stable `code` (in [`error`]).
//!
//! The npm package in `node/` builds this crate with `napi build` and wraps
//! it (`node/sojourn.js`); its `index.d.ts` is generated from the doc
//! comments here. For the hot operations the wrapper calls the internal
//! methods of [`internal`], which put numbers in a scratch buffer
//! ([`scratch`]) and return strings compactly, and builds the result
//! objects itself: quicker than napi-rs setting them property by property.
//!
//! The Redis tracker ([`redis`]) has the same operations, each a Promise:
//! its arguments converted on the main thread, the core's call run on
//! libuv's thread pool, its result converted on the main thread
//! ([`task`]). Both classes reach JavaScript's `onEnd` and warnings through
//! [`wiring`], and save snapshots the same way, on the thread pool
//! ([`snapshot`] converts their options and results).

mod clock;
mod convert;
mod ends;
mod error;
mod redis;
mod scratch;
mod session;
mod snapshot;
mod store;
mod task;
mod tracker;
mod web;
mod wiring;
// After `tracker`, so that in the generated `index.d.ts` the public
// methods come first.
mod internal;
