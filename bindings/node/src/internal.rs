//! The tracker's internal methods, for the package's wrapper
//! (`node/sojourn.js`) alone. Each does what the public method of the same
//! name does, with the same arguments and errors, and hands its result out
//! in a form that is quick to cross into JavaScript: the numbers in the
//! scratch buffer ([`crate::scratch`]), the strings and attributes of a
//! session as [`Compact`]. The wrapper builds from them the objects the
//! public methods return. Their names begin with an underscore and their
//! docs say `@internal`: they are in the generated `index.d.ts`, as every
//! method is, but not in the package's documented API; the public methods
//! stay the complete one.

use napi::bindgen_prelude::{Float64Array, ToNapiValue};
use napi::sys;
use napi_derive::napi;
use sojourn::{Kind, Outcome, SessionRecord};

use crate::convert::{self, Arg, Attrs, Given, Id, IdText, Ids, Text, Token, check};
use crate::ends::EndBatch;
use crate::error::{ErrorValue, OrThrow, Result};
use crate::scratch::{Buffer, slot};
use crate::session::{Hints, StartOptions};
use crate::tracker::Hinted;
use crate::tracker::Tracker;

#[napi]
impl Tracker {
    /// @internal Binds the buffer that the other internal methods write
    /// numbers into: a `Float64Array` of 9 numbers over a
    /// `SharedArrayBuffer`, once.
    #[napi(js_name = "_bindScratch")]
    pub fn bind_scratch(
        &self,
        #[napi(ts_arg_type = "Float64Array")] buffer: Arg<Buffer>,
    ) -> Result<()> {
        self.scratch.bind(buffer.get("buffer")?)
    }

    /// @internal `track(id, 'view')`, its tick in the buffer.
    #[napi(js_name = "_trackView")]
    pub fn track_view(&self, #[napi(ts_arg_type = "string")] id: Id) -> Result<()> {
        self.tick(id, Kind::View)
    }

    /// @internal `track(id, 'event')`, its tick in the buffer.
    #[napi(js_name = "_trackEvent")]
    pub fn track_event(&self, #[napi(ts_arg_type = "string")] id: Id) -> Result<()> {
        self.tick(id, Kind::Event)
    }

    /// @internal `trackMany(ids, view ? 'view' : 'event')`: three numbers
    /// an id (views, events, sequence); -1 and two zeros where its session
    /// is not live; -2, `k` and 0 for the `k`th item with an error. Without
    /// errors, the numbers alone; else `[numbers, error, error…]`.
    #[napi(js_name = "_trackMany", ts_return_type = "Float64Array | unknown[]")]
    pub fn track_many_packed(
        &self,
        #[napi(ts_arg_type = "string[]")] ids: Ids,
        view: bool,
    ) -> Result<Packed> {
        let ids = ids.get()?;
        let kind = if view { Kind::View } else { Kind::Event };
        let mut numbers = Vec::with_capacity(3 * ids.len());
        let mut errors = Vec::new();
        for item in self.core_track_many(&ids, kind)? {
            numbers.extend(match sojourn::Tick::batch_item(item) {
                Ok(Some(t)) => [t.view_sequence, t.event_sequence, t.sequence].map(convert::number),
                Ok(None) => [-1.0, 0.0, 0.0],
                Err(error) => {
                    errors.push(error);
                    [-2.0, (errors.len() - 1) as f64, 0.0]
                }
            });
        }
        Ok(Packed { numbers, errors })
    }

    /// @internal Up to `max` of the pending session ends, oldest first:
    /// `[numbers, session, session…]`, 12 numbers an end (the session's 8
    /// as in the buffer, then `endedAt`, `duration`, the reason: 0 idle, 1
    /// lifetime, 2 ended, 3 evicted, and `revivable`: 1 or 0), and each
    /// session's strings as `_get` returns them; `null` when none is
    /// pending.
    #[napi(js_name = "_takeEnds", ts_return_type = "unknown[] | null")]
    pub fn take_ends_packed(&self, max: f64) -> Result<Option<EndBatch>> {
        self.wired.take_ends_packed(max)
    }

    /// @internal Drops every pending end and `taken` that were taken but
    /// will not be delivered (`close()` past `closeTimeout`), counted in
    /// `stats().endsDropped`; returns how many.
    #[napi(js_name = "_dropEnds")]
    pub fn drop_ends_internal(&self, taken: f64) -> Result<f64> {
        self.wired.drop_ends_internal(taken)
    }

    /// @internal The core's warnings given since the last call (about
    /// this tracker's configuration, ends dropped, a failing sweep), each
    /// once: `[code, message, code, message…]`.
    #[napi(js_name = "_takeWarnings")]
    pub fn take_warnings_internal(&self) -> Vec<String> {
        self.wired.take_warnings_internal()
    }

    /// @internal `[maxPendingEnds, closeTimeout, sweepInterval]`, as the
    /// tracker has them (durations in milliseconds).
    #[napi(js_name = "_endsOptions")]
    pub fn ends_options_internal(&self) -> Vec<f64> {
        self.wired.ends_options_internal()
    }

    /// @internal `get(id)`, its numbers in the buffer.
    #[napi(js_name = "_get", ts_return_type = "string | unknown[] | null")]
    pub fn get_compact(&self, #[napi(ts_arg_type = "string")] id: Id) -> Result<Option<Compact>> {
        let out = self.scratch.get()?;
        let given = id.given();
        let record = self.wired.inner.records().get(id.get()?).or_throw()?;
        Ok(record.map(|r| self.compact(out, r, given)))
    }

    /// @internal `peek(id)`, its numbers in the buffer.
    #[napi(js_name = "_peek", ts_return_type = "string | unknown[] | null")]
    pub fn peek_compact(&self, #[napi(ts_arg_type = "string")] id: Id) -> Result<Option<Compact>> {
        let out = self.scratch.get()?;
        let given = id.given();
        let record = self.wired.inner.records().peek(id.get()?).or_throw()?;
        Ok(record.map(|r| self.compact(out, r, given)))
    }

    /// @internal `start(options)`, its numbers in the buffer.
    #[napi(js_name = "_start", ts_return_type = "string | unknown[]")]
    pub fn start_compact(
        &self,
        #[napi(ts_arg_type = "StartOptions")] options: Option<Arg<StartOptions>>,
    ) -> Result<Compact> {
        self.session_out(None, || self.core_start(options))
    }

    /// @internal `identify(id, userId)`, its numbers in the buffer; `true`
    /// when the session is `[id, id, userId]` of the arguments.
    #[napi(js_name = "_identify", ts_return_type = "true | string | unknown[]")]
    pub fn identify_compact(
        &self,
        #[napi(ts_arg_type = "string")] id: Id,
        #[napi(ts_arg_type = "string")] user_id: Arg<Text>,
    ) -> Result<Compact> {
        let given = id.given();
        let mut compact = self.session_out(given, || self.core_identify(id, user_id))?;
        compact.user_given = true;
        Ok(compact)
    }

    /// @internal `setAttrs(id, attrs)`, its numbers in the buffer.
    #[napi(js_name = "_setAttrs", ts_return_type = "string | unknown[]")]
    pub fn set_attrs_compact(
        &self,
        #[napi(ts_arg_type = "string")] id: Id,
        #[napi(ts_arg_type = "Record<string, string | number | boolean | null>")] attrs: Arg<Attrs>,
    ) -> Result<Compact> {
        self.session_out(id.given(), || self.core_set_attrs(id, attrs))
    }

    /// @internal `revive(id, hints)`, its numbers in the buffer.
    #[napi(js_name = "_revive", ts_return_type = "string | unknown[]")]
    pub fn revive_compact(
        &self,
        #[napi(ts_arg_type = "string")] id: Id,
        #[napi(ts_arg_type = "Hints")] hints: Option<Arg<Hints>>,
    ) -> Result<Compact> {
        self.session_out(id.given(), || self.core_revive(id, hints))
    }

    /// @internal `revive(id, hints)` for hints without `attrs`, given a
    /// field an argument (`Hinted`).
    #[napi(js_name = "_reviveHinted", ts_return_type = "string | unknown[]")]
    pub fn revive_hinted(
        &self,
        #[napi(ts_arg_type = "string")] id: Id,
        #[napi(ts_arg_type = "string | null | undefined")] user_id: Option<Arg<Text>>,
        view_sequence: Option<f64>,
        event_sequence: Option<f64>,
    ) -> Result<Compact> {
        let hints = Hinted {
            user_id,
            view_sequence,
            event_sequence,
        };
        self.session_out(id.given(), || self.core_revive_hinted(id, hints))
    }

    /// @internal `resume(token, hints)` for hints without `attrs`, given a
    /// field an argument, as `_resume` hands it out.
    #[napi(js_name = "_resumeHinted", ts_return_type = "string | unknown[]")]
    pub fn resume_hinted(
        &self,
        #[napi(ts_arg_type = "string | null")] token: Option<Arg<Token>>,
        #[napi(ts_arg_type = "string | null | undefined")] user_id: Option<Arg<Text>>,
        view_sequence: Option<f64>,
        event_sequence: Option<f64>,
    ) -> Result<Compact> {
        let out = self.scratch.get()?;
        let hints = Hinted {
            user_id,
            view_sequence,
            event_sequence,
        };
        let resumed = self.core_resume_hinted(token, hints)?;
        Ok(self.resumed(out, resumed))
    }

    /// @internal `resume(token, hints)`: the session, its numbers and the
    /// outcome (0 existing, 1 revived, 2 started) in the buffer.
    #[napi(js_name = "_resume", ts_return_type = "string | unknown[]")]
    pub fn resume_compact(
        &self,
        #[napi(ts_arg_type = "string | null")] token: Option<Arg<Token>>,
        #[napi(ts_arg_type = "Hints")] hints: Option<Arg<Hints>>,
    ) -> Result<Compact> {
        let out = self.scratch.get()?;
        let resumed = self.core_resume(token, hints)?;
        Ok(self.resumed(out, resumed))
    }
}

impl Tracker {
    /// The session `op` returns, its numbers in the buffer; `given`, the
    /// caller's id argument. The buffer is asked for first: a tracker
    /// without one does nothing.
    fn session_out(
        &self,
        given: Option<Given>,
        op: impl FnOnce() -> Result<SessionRecord>,
    ) -> Result<Compact> {
        let out = self.scratch.get()?;
        op().map(|r| self.compact(out, r, given))
    }

    /// What `resume` found, its outcome in the buffer.
    fn resumed(&self, out: &Buffer, resumed: (SessionRecord, Option<String>, Outcome)) -> Compact {
        let (record, token, outcome) = resumed;
        let code = match outcome {
            Outcome::Existing => 0.0,
            Outcome::Revived => 1.0,
            Outcome::Started => 2.0,
        };
        out.put(slot::OUTCOME, code);
        compact(out, record, token, None)
    }

    /// [`compact`], the token signed if tokens are signed (else it is the
    /// id, which the wrapper uses as it is).
    fn compact(&self, out: &Buffer, record: SessionRecord, given: Option<Given>) -> Compact {
        let signer = self.wired.inner.signer();
        let token = signer.is_signed().then(|| signer.token(record.id));
        compact(out, record, token, given)
    }

    /// One track, its tick in the buffer.
    fn tick(&self, id: Id, kind: Kind) -> Result<()> {
        let out = self.scratch.get()?;
        let tick = self.wired.inner.track(id.get()?, kind).or_throw()?;
        out.put(slot::VIEW_SEQUENCE, convert::number(tick.view_sequence));
        out.put(slot::EVENT_SEQUENCE, convert::number(tick.event_sequence));
        out.put(slot::SEQUENCE, convert::number(tick.sequence));
        Ok(())
    }
}

/// A session's numbers into the buffer, and the rest of it to return;
/// `token`, none when it is the id; `given`, the caller's id argument, if
/// it was the id's canonical text.
fn compact(out: &Buffer, s: SessionRecord, token: Option<String>, given: Option<Given>) -> Compact {
    let r = &s.record;
    out.put(slot::VIEW_SEQUENCE, f64::from(r.views));
    out.put(slot::EVENT_SEQUENCE, f64::from(r.events));
    out.put(slot::SEQUENCE, convert::number(s.sequence()));
    out.put(slot::SESSION_INDEX, f64::from(r.session_index));
    out.put(slot::REVIVALS, f64::from(r.revivals));
    out.put(slot::STARTED_AT, r.started_at as f64);
    out.put(slot::LAST_SEEN, r.last_seen as f64);
    out.put(slot::EXPIRES_AT, s.expires_at as f64);
    Compact {
        record: s,
        token,
        given,
        user_given: false,
    }
}

/// What the buffer does not hold of a session, for the wrapper: the id
/// alone when the token is the id and there is no user, previous id or
/// attribute (a new, anonymous session: the common case), else `[id,
/// token, userId, previousId, attrs]` without `attrs` when there are none,
/// and then without `previousId` when it is null.
pub struct Compact {
    record: SessionRecord,
    /// The token, none when it is the id.
    token: Option<String>,
    /// The caller's id argument: handed back as the id if it is the id's
    /// text, rather than a new string of the same text.
    given: Option<Given>,
    /// The user is the caller's own argument (`identify`): when the id is
    /// the caller's too and there is nothing else, `true` is handed out
    /// and the wrapper builds the session from its arguments (an array
    /// costs napi a slow call an element).
    user_given: bool,
}

impl Compact {
    /// The strings of `session`, its id made anew.
    pub fn new(session: sojourn::Session) -> Compact {
        Compact {
            record: SessionRecord::of(&session),
            token: Some(session.token),
            given: None,
            user_given: false,
        }
    }
}

/// What `_trackMany` returns: its numbers, and the errors of items.
pub struct Packed {
    numbers: Vec<f64>,
    errors: Vec<sojourn::Error>,
}

impl ToNapiValue for Packed {
    unsafe fn to_napi_value(env: sys::napi_env, p: Self) -> napi::Result<sys::napi_value> {
        // SAFETY (every conversion and napi call): `env` is the one napi
        // hands to every conversion, and each value is made in it.
        let numbers = unsafe { Float64Array::to_napi_value(env, Float64Array::new(p.numbers))? };
        if p.errors.is_empty() {
            return Ok(numbers);
        }
        let mut array = std::ptr::null_mut();
        check(unsafe { sys::napi_create_array_with_length(env, p.errors.len() + 1, &mut array) })?;
        check(unsafe { sys::napi_set_element(env, array, 0, numbers) })?;
        for (i, error) in (1..).zip(p.errors) {
            let error = unsafe { ErrorValue::to_napi_value(env, ErrorValue(error))? };
            check(unsafe { sys::napi_set_element(env, array, i, error) })?;
        }
        Ok(array)
    }
}

impl ToNapiValue for Compact {
    unsafe fn to_napi_value(env: sys::napi_env, c: Self) -> napi::Result<sys::napi_value> {
        let s = c.record;
        let text = IdText::new(s.id)?;
        // SAFETY (every conversion below): `env` is the one napi hands to
        // every conversion, and `given` a value of this call.
        let given = c.given.and_then(|given| given.value_if(&text));
        let token = c.token.filter(|token| !text.is(token));
        let r = &s.record;
        let attrs = r.attrs().filter(|a| !a.is_empty());
        let only_user = token.is_none() && r.previous_id().is_none() && attrs.is_none();
        if only_user && c.user_given && given.is_some() {
            return unsafe { bool::to_napi_value(env, true) };
        }
        let id = match given {
            Some(given) => given,
            None => unsafe { <&IdText>::to_napi_value(env, &text)? },
        };
        if only_user && r.user_id().is_none() {
            return Ok(id);
        }
        let token = match token {
            None => id,
            Some(token) => unsafe { String::to_napi_value(env, token)? },
        };
        let user_id = unsafe { Option::<&str>::to_napi_value(env, r.user_id())? };
        let previous_id = r.previous_id().map(IdText::new).transpose()?;
        let has_previous_id = previous_id.is_some();
        let previous_id = unsafe { Option::<&IdText>::to_napi_value(env, previous_id.as_ref())? };
        let attrs = match attrs {
            None => None,
            Some(attrs) => Some(unsafe { Attrs::to_napi_value(env, Attrs(attrs.clone()))? }),
        };
        // Without the trailing items that are null or empty: the wrapper
        // fills them in, for less than napi takes to set them.
        let length = match (has_previous_id, attrs.is_some()) {
            (_, true) => 5,
            (true, false) => 4,
            (false, false) => 3,
        };
        let items = [
            id,
            token,
            user_id,
            previous_id,
            attrs.unwrap_or(previous_id),
        ];
        let mut array = std::ptr::null_mut();
        check(unsafe { sys::napi_create_array_with_length(env, length, &mut array) })?;
        for (i, &item) in (0..).zip(&items[..length]) {
            check(unsafe { sys::napi_set_element(env, array, i, item) })?;
        }
        Ok(array)
    }
}
