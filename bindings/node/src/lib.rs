//! Node bindings of sojourn (napi-rs): conversions only. Every rule and
//! default lives in the core; this crate converts JavaScript values into
//! the core's types and back, and maps the core's errors to JavaScript
//! errors with a stable `code` (in [`error`]).
//!
//! The npm package in `node/` builds this crate with `napi build` and wraps
//! it (`node/sojourn.js`); its `index.d.ts` is generated from the doc
//! comments here.

mod clock;
mod convert;
mod ends;
mod error;
mod session;
mod tracker;
