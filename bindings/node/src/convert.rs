//! Conversions of caller values into the core's types, each failing with
//! `INVALID_ARGUMENT` (a wrong type, a negative or fractional count) or the
//! core's own error (`INVALID_SESSION_ID` for a malformed id). The core
//! judges the values; these only check that they are what the type says.

use std::time::Duration;

use chrono::DateTime;
use napi::bindgen_prelude::{
    FromNapiValue, JsObjectValue, Null, Object, ToNapiValue, TypeName, ValidateNapiValue,
};
use napi::{
    Either, Env, JsDate, JsValue, KeyCollectionMode, KeyConversion, KeyFilter, ValueType, sys,
};
use sojourn::{AttrValue, SessionId};

use crate::error::{self, OrThrow, Result};

/// A value as the caller passed it, converted when read. napi converts the
/// arguments before a method runs and would throw its own error for a
/// wrong type; keeping the outcome here lets [`Arg::get`] throw ours, with
/// the argument's name and the code `INVALID_ARGUMENT`. The type is checked
/// before it is converted (napi's conversion of a class instance alone
/// does not check which class it is).
pub struct Arg<T>(napi::Result<T>);

impl<T> Arg<T> {
    /// The converted value, or `INVALID_ARGUMENT` naming `name`.
    pub fn get(self, name: &str) -> Result<T> {
        self.0.map_err(|e| error::invalid_value(name, e))
    }

    /// The argument as a field of an object: its error says where, as
    /// napi-rs says it of an object's field (`... on Hints.userId`).
    pub fn within(self, place: &str) -> Arg<T> {
        Arg(self
            .0
            .map_err(|e| napi::Error::new(e.status, format!("{} on {place}", e.reason))))
    }
}

impl<T: TypeName> TypeName for Arg<T> {
    fn type_name() -> &'static str {
        T::type_name()
    }

    fn value_type() -> ValueType {
        T::value_type()
    }
}

impl<T: FromNapiValue + ValidateNapiValue> FromNapiValue for Arg<T> {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        // SAFETY: `env` and `value` are the ones napi hands to every
        // conversion; the value is converted only once its type is checked.
        let converted =
            unsafe { T::validate(env, value).and_then(|_| T::from_napi_value(env, value)) };
        Ok(Arg(converted))
    }
}

impl<T: FromNapiValue + ValidateNapiValue> ValidateNapiValue for Arg<T> {
    // Any value is accepted here; its check is kept for `get`.
    unsafe fn validate(
        _env: sys::napi_env,
        _value: sys::napi_value,
    ) -> napi::Result<sys::napi_value> {
        Ok(std::ptr::null_mut())
    }
}

/// A session id argument: a string the core parses, converted when the
/// call begins (`INVALID_ARGUMENT` if it is not a string,
/// `INVALID_SESSION_ID` if malformed). An id is read into a stack buffer,
/// without allocating; anything else is read again as a `String` and
/// parsed as such, for the same error.
pub struct Id {
    id: Result<SessionId>,
    /// The argument and its text, when it was read on the stack: a result
    /// may hand it back instead of a new string of the same text.
    given: Option<Given>,
}

impl Id {
    /// The id, or the error of its conversion.
    pub fn get(self) -> Result<SessionId> {
        self.id
    }

    /// The argument and its text, if it was read on the stack.
    pub fn given(&self) -> Option<Given> {
        self.given
    }
}

impl TypeName for Id {
    fn type_name() -> &'static str {
        String::type_name()
    }

    fn value_type() -> ValueType {
        ValueType::String
    }
}

impl FromNapiValue for Id {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        // SAFETY: `env` and `value` are the ones napi hands to every conversion.
        if let Some((id, text)) = unsafe { read_id(env, value) } {
            let given = Some(Given { value, text });
            return Ok(Id { id: Ok(id), given });
        }
        // SAFETY: as above; `Arg` checks the type before it converts.
        let text = unsafe { Arg::<String>::from_napi_value(env, value)? };
        Ok(Id {
            id: parse_id(text),
            given: None,
        })
    }
}

/// An id argument that is an id's text, as the caller gave it.
#[derive(Clone, Copy)]
pub struct Given {
    /// The argument, a string valid until the call returns.
    value: sys::napi_value,
    /// Its text.
    text: [u8; ID_LENGTH],
}

impl Given {
    /// The argument, if it is `text`.
    pub fn value_if(&self, text: &IdText) -> Option<sys::napi_value> {
        (self.text == text.0).then_some(self.value)
    }
}

/// The length of a hyphenated UUID.
const ID_LENGTH: usize = 36;

/// The id in `value` when it is a string of 36 ASCII characters that the
/// core accepts, and those characters; `None` for anything else (not a
/// string, another length, other characters, malformed).
///
/// # Safety
///
/// `env` and `value` must be those of a napi conversion.
unsafe fn read_id(
    env: sys::napi_env,
    value: sys::napi_value,
) -> Option<(SessionId, [u8; ID_LENGTH])> {
    // Room for one code unit more than an id, and napi's terminating NUL: a
    // longer string fills it and is not cut to an id's length. UTF-16 code
    // units, unlike Latin-1 bytes, show every character as it is.
    let mut units = [0u16; ID_LENGTH + 2];
    let mut length = 0;
    // SAFETY: the buffer's size is given, and napi writes within it.
    let status = unsafe {
        sys::napi_get_value_string_utf16(env, value, units.as_mut_ptr(), units.len(), &mut length)
    };
    if status != sys::Status::napi_ok || length != ID_LENGTH {
        return None;
    }
    let mut text = [0u8; ID_LENGTH];
    for (byte, &unit) in text.iter_mut().zip(&units) {
        *byte = u8::try_from(unit).ok().filter(u8::is_ascii)?;
    }
    let id = SessionId::parse(std::str::from_utf8(&text).ok()?).ok()?;
    Some((id, text))
}

/// A session id from a string argument, as the core parses it.
fn parse_id(arg: Arg<String>) -> Result<SessionId> {
    SessionId::parse(&arg.get("id")?).or_throw()
}

/// An id's canonical text, written on the stack.
pub struct IdText([u8; ID_LENGTH]);

impl IdText {
    /// The text of `id`.
    pub fn new(id: SessionId) -> napi::Result<IdText> {
        Ok(IdText(id.encode()))
    }

    /// Whether `text` is this.
    pub fn is(&self, text: &str) -> bool {
        self.0 == text.as_bytes()
    }
}

impl ToNapiValue for &IdText {
    unsafe fn to_napi_value(env: sys::napi_env, text: Self) -> napi::Result<sys::napi_value> {
        let mut value = std::ptr::null_mut();
        // SAFETY: `env` is the one napi hands to every conversion; the
        // text is ASCII, which Latin-1 reads as it is, of the length given.
        check(unsafe {
            sys::napi_create_string_latin1(
                env,
                text.0.as_ptr().cast(),
                ID_LENGTH as isize,
                &mut value,
            )
        })?;
        Ok(value)
    }
}

/// The status of a napi call that makes a value, as a result: it fails
/// only in napi itself (out of memory, the environment going away).
pub fn check(status: sys::napi_status) -> napi::Result<()> {
    match status {
        sys::Status::napi_ok => Ok(()),
        other => Err(napi::Error::new(
            napi::Status::from(other),
            "napi could not make a value",
        )),
    }
}

/// Session ids: an array of strings, each parsed by the core, converted
/// when the call begins. Nothing is returned unless every item is a string
/// (else `INVALID_ARGUMENT`) and a well-formed id (else
/// `INVALID_SESSION_ID`, for the first malformed one). Each id is read as
/// [`Id`] reads one; if any is not, the array is read again as strings,
/// for the same error.
pub struct Ids(Result<Vec<SessionId>>);

impl Ids {
    /// The ids, or the error of their conversion.
    pub fn get(self) -> Result<Vec<SessionId>> {
        self.0
    }
}

impl TypeName for Ids {
    fn type_name() -> &'static str {
        Vec::<String>::type_name()
    }

    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl FromNapiValue for Ids {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        // SAFETY: `env` and `value` are the ones napi hands to every conversion.
        if let Some(ids) = unsafe { read_ids(env, value) } {
            return Ok(Ids(Ok(ids)));
        }
        // SAFETY: as above.
        Ok(Ids(Err(unsafe { why_not_ids(env, value) })))
    }
}

/// Why `value` is not an array of ids: the error of its first element that
/// is not one, or of its type. Read an element at a time: napi's own
/// `Vec` conversion makes room for the length an array says first, and a
/// sparse array or a Proxy may say 2 ** 32 - 1 (96 GB asked at once, and
/// the allocator's failure aborts the process).
///
/// # Safety
///
/// `env` and `value` must be those of a napi conversion.
unsafe fn why_not_ids(env: sys::napi_env, value: sys::napi_value) -> napi::Error<error::Code> {
    let mut length = 0;
    // SAFETY (the napi calls): `env` and `value` are a conversion's, each
    // out-pointer is to a local, and `item` is read in this call.
    let is_array = unsafe { Vec::<String>::validate(env, value) }
        .and_then(|_| check(unsafe { sys::napi_get_array_length(env, value, &mut length) }));
    if let Err(e) = is_array {
        return error::invalid_value("ids", e);
    }
    for i in 0..length {
        let mut item = std::ptr::null_mut();
        if let Err(e) = check(unsafe { sys::napi_get_element(env, value, i, &mut item) }) {
            return error::invalid_value("ids", e);
        }
        let text = match unsafe { Arg::<String>::from_napi_value(env, item) } {
            Ok(text) => text.get("ids"),
            Err(e) => Err(error::invalid_value("ids", e)),
        };
        if let Err(e) = text.and_then(|t| SessionId::parse(&t).or_throw()) {
            return e;
        }
    }
    // Every element read as an id here; `read_ids` had refused one that
    // changed under it (a getter or a Proxy's trap).
    error::invalid_value(
        "ids",
        napi::Error::from_reason("an element changed while it was read"),
    )
}

/// The ids in `value` when it is an array of strings that [`read_id`]
/// reads; `None` for anything else.
///
/// # Safety
///
/// `env` and `value` must be those of a napi conversion.
unsafe fn read_ids(env: sys::napi_env, value: sys::napi_value) -> Option<Vec<SessionId>> {
    let (mut is_array, mut length) = (false, 0);
    // SAFETY (the three napi calls): `env` and `value` are a conversion's,
    // each out-pointer is to a local, and `item` is read in this call.
    check(unsafe { sys::napi_is_array(env, value, &mut is_array) }).ok()?;
    if !is_array {
        return None;
    }
    check(unsafe { sys::napi_get_array_length(env, value, &mut length) }).ok()?;
    // Room for what the array says it holds, up to a bound: a sparse array
    // (or a Proxy) may say 2 ** 32 - 1, and asking for 64 GB at once
    // aborted the process. More grows as real ids are read.
    let mut ids = Vec::with_capacity((length as usize).min(1 << 16));
    for i in 0..length {
        let mut item = std::ptr::null_mut();
        check(unsafe { sys::napi_get_element(env, value, i, &mut item) }).ok()?;
        ids.push(unsafe { read_id(env, item) }?.0);
    }
    Some(ids)
}

/// An optional string: `undefined` and `null` are none.
pub fn opt_string(arg: Option<Arg<Text>>, name: &str) -> Result<Option<String>> {
    arg.map(|a| a.get(name).map(String::from)).transpose()
}

/// A string argument, read exactly as it is. napi-rs reads strings as
/// UTF-8, which replaces a lone surrogate (half of a UTF-16 pair, such as
/// `'\ud800'`) with U+FFFD: two different strings would become one, so that
/// `endUser('user-\udbff')` would end the sessions of `'user-\ud800'`. A
/// string with a lone surrogate is not Unicode text, and is refused
/// (`INVALID_ARGUMENT`); everything else is read as it is.
pub struct Text(String);

impl From<Text> for String {
    fn from(text: Text) -> String {
        text.0
    }
}

impl TypeName for Text {
    fn type_name() -> &'static str {
        String::type_name()
    }

    fn value_type() -> ValueType {
        ValueType::String
    }
}

impl ValidateNapiValue for Text {}

impl FromNapiValue for Text {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        // SAFETY: `env` and `value` are a conversion's.
        match unsafe { read_string(env, value)? } {
            Ok(text) => Ok(Text(text)),
            Err(LoneSurrogate(_)) => Err(napi::Error::new(
                napi::Status::InvalidArg,
                "contains a lone surrogate: it is not Unicode text",
            )),
        }
    }
}

/// A token argument, the client's: never an error for what it holds. A
/// token with a lone surrogate is read with U+FFFD in its place, which no
/// token has (they are ASCII), so the core rejects it as it rejects any
/// garbage: a new session starts, counted in `stats().rejected`.
pub struct Token(String);

impl From<Token> for String {
    fn from(token: Token) -> String {
        token.0
    }
}

impl TypeName for Token {
    fn type_name() -> &'static str {
        String::type_name()
    }

    fn value_type() -> ValueType {
        ValueType::String
    }
}

impl ValidateNapiValue for Token {}

impl FromNapiValue for Token {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        // SAFETY: `env` and `value` are a conversion's.
        Ok(Token(
            unsafe { read_string(env, value)? }.unwrap_or_else(|LoneSurrogate(lossy)| lossy),
        ))
    }
}

/// What [`read_string`] found in a string with a lone surrogate: the text
/// with U+FFFD in its place.
struct LoneSurrogate(String);

/// The text of the string `value`, or, if it holds a lone surrogate,
/// [`LoneSurrogate`]. It is read as UTF-8 (quick); only a text with U+FFFD
/// in it, which is either that character or a lone surrogate replaced, is
/// read again as UTF-16 to tell which.
///
/// # Safety
///
/// `env` and `value` must be those of a napi conversion.
unsafe fn read_string(
    env: sys::napi_env,
    value: sys::napi_value,
) -> napi::Result<std::result::Result<String, LoneSurrogate>> {
    let mut length = 0;
    // SAFETY (every napi call here): `env` and `value` are a conversion's,
    // each buffer's size is given, and napi writes within it.
    string_status(unsafe {
        sys::napi_get_value_string_utf8(env, value, std::ptr::null_mut(), 0, &mut length)
    })?;
    // One byte more for the terminating NUL that napi writes.
    let mut bytes = vec![0u8; length + 1];
    let mut written = 0;
    string_status(unsafe {
        sys::napi_get_value_string_utf8(
            env,
            value,
            bytes.as_mut_ptr().cast(),
            bytes.len(),
            &mut written,
        )
    })?;
    bytes.truncate(written);
    let text = String::from_utf8(bytes)
        .map_err(|_| napi::Error::from_reason("napi gave a string that is not UTF-8"))?;
    if !text.contains(char::REPLACEMENT_CHARACTER) {
        return Ok(Ok(text));
    }
    let mut units_length = 0;
    string_status(unsafe {
        sys::napi_get_value_string_utf16(env, value, std::ptr::null_mut(), 0, &mut units_length)
    })?;
    let mut units = vec![0u16; units_length + 1];
    string_status(unsafe {
        sys::napi_get_value_string_utf16(env, value, units.as_mut_ptr(), units.len(), &mut written)
    })?;
    units.truncate(written);
    Ok(String::from_utf16(&units).map_err(|_| LoneSurrogate(text)))
}

/// The status of reading a string: `StringExpected` for another type.
fn string_status(status: sys::napi_status) -> napi::Result<()> {
    match status {
        sys::Status::napi_ok => Ok(()),
        other => Err(napi::Error::new(
            napi::Status::from(other),
            "expected a string",
        )),
    }
}

/// A count (counter hints, sizes): a non-negative integer. Beyond `u64`
/// it saturates, and the core refuses it as over its own limit.
pub fn count(value: f64, name: &str) -> Result<u64> {
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 {
        // An integral, non-negative f64 converts exactly, saturating past u64::MAX.
        Ok(value as u64)
    } else {
        Err(error::invalid(
            name,
            format!("{value} is not a non-negative integer"),
        ))
    }
}

/// A size bound (`maxSessions`, `maxAttrsBytes`…): a count.
pub fn size(value: f64, name: &str) -> Result<usize> {
    count(value, name).map(|n| usize::try_from(n).unwrap_or(usize::MAX))
}

/// A duration: a non-negative whole number of milliseconds.
pub fn millis(value: f64, name: &str) -> Result<Duration> {
    count(value, name).map(Duration::from_millis)
}

/// A point in time: a `Date`, or milliseconds since the Unix epoch, whole
/// and within the range of a `Date` (an invalid `Date` is refused).
pub fn timestamp(value: Either<f64, JsDate>, name: &str) -> Result<i64> {
    let ms = match value {
        Either::A(ms) => ms,
        Either::B(date) => date.value_of().or_throw()?,
    };
    // `fract` is NaN for NaN and the infinities.
    match ms.fract() == 0.0 && DateTime::from_timestamp_millis(ms as i64).is_some() {
        true => Ok(ms as i64),
        false => Err(error::invalid(
            name,
            format!("{ms} is not a time in milliseconds"),
        )),
    }
}

/// A JavaScript number as a count: exact up to 2^53, which no counter reaches.
pub fn number(n: u64) -> f64 {
    n as f64
}

/// Session attributes, both ways: a plain object whose values are strings,
/// numbers, booleans or `null` (properties set to `undefined` are left out,
/// as `JSON.stringify` does). Whole numbers become integers. The core
/// checks keys, finiteness and size.
pub struct Attrs(pub sojourn::Attrs);

impl TypeName for Attrs {
    fn type_name() -> &'static str {
        "Attrs"
    }

    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ValidateNapiValue for Attrs {}

impl FromNapiValue for Attrs {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        // SAFETY: as for every napi conversion; the type is checked first.
        let object = unsafe {
            <Object as ValidateNapiValue>::validate(env, value)?;
            Object::from_napi_value(env, value)?
        };
        if object.is_array()? {
            return Err(napi::Error::from_reason("expected an object, got an array"));
        }
        let keys = object.get_all_property_names(
            KeyCollectionMode::OwnOnly,
            KeyFilter::Enumerable,
            KeyConversion::NumbersToStrings,
        )?;
        let length = keys.get_array_length()?;
        let mut attrs = sojourn::Attrs::new();
        for i in 0..length {
            let key: napi::Unknown = keys.get_element(i)?;
            // SAFETY: a value of this call; a key is a string (numbers
            // are converted to strings), and anything else is refused.
            let name = unsafe { Text::from_napi_value(env, key.raw()) }
                .map_err(|e| napi::Error::from_reason(format!("a key {}", e.reason)))?
                .0;
            let mut value = std::ptr::null_mut();
            // SAFETY: the object and key are values of this call. The
            // property is read by the key itself, not by its name again.
            check(unsafe { sys::napi_get_property(env, object.raw(), key.raw(), &mut value) })?;
            // SAFETY: as above.
            let value = unsafe { napi::Unknown::from_napi_value(env, value)? };
            if let Some(value) = attr_value(env, value, &name)? {
                attrs.insert(name, value);
            }
        }
        Ok(Attrs(attrs))
    }
}

/// Integers up to 2^53 are exact in a JavaScript number.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

fn attr_value(
    env: sys::napi_env,
    value: napi::Unknown,
    key: &str,
) -> napi::Result<Option<AttrValue>> {
    Ok(Some(match value.get_type()? {
        ValueType::Undefined => return Ok(None),
        ValueType::Null => AttrValue::Null,
        // SAFETY (the two casts): each is to the type `get_type` reported.
        ValueType::Boolean => AttrValue::Bool(unsafe { value.cast::<bool>() }?),
        // SAFETY: a value of this call, in its `env`.
        ValueType::String => AttrValue::Str(
            unsafe { Text::from_napi_value(env, value.raw()) }
                .map_err(|e| napi::Error::from_reason(format!("{key:?} {}", e.reason)))?
                .0,
        ),
        ValueType::Number => {
            let n = unsafe { value.cast::<f64>() }?;
            if n.fract() == 0.0 && n.abs() <= MAX_SAFE_INTEGER {
                AttrValue::Int(n as i64)
            } else {
                // Fractions, and non-finite numbers that the core refuses.
                AttrValue::Float(n)
            }
        }
        other => {
            let kind = match other {
                ValueType::Function => "a function",
                ValueType::Symbol => "a symbol",
                ValueType::BigInt => "a bigint",
                _ => "an object",
            };
            return Err(napi::Error::from_reason(format!(
                "{key:?} is {kind}; values must be strings, numbers, booleans or null"
            )));
        }
    }))
}

impl ToNapiValue for Attrs {
    unsafe fn to_napi_value(env: sys::napi_env, attrs: Self) -> napi::Result<sys::napi_value> {
        let mut object = Object::new(&Env::from_raw(env))?;
        for (key, value) in attrs.0 {
            if key == "__proto__" {
                // SAFETY: the object was made in this `env`.
                unsafe { define_own(env, &object, value)? };
                continue;
            }
            match value {
                AttrValue::Null => object.set(key, Null)?,
                AttrValue::Bool(b) => object.set(key, b)?,
                AttrValue::Int(i) => object.set(key, i)?,
                AttrValue::Float(f) => object.set(key, f)?,
                AttrValue::Str(s) => object.set(key, s)?,
            }
        }
        // SAFETY: the object was made in this `env`.
        unsafe { ToNapiValue::to_napi_value(env, object) }
    }
}

/// Sets the attribute `__proto__` as an own data property, as
/// `JSON.parse` makes it: `object.set` would call the `__proto__` setter
/// instead, which makes no key (and takes the object's prototype away for
/// a `null`), so the attribute the session holds would not show.
unsafe fn define_own(env: sys::napi_env, object: &Object, value: AttrValue) -> napi::Result<()> {
    // SAFETY (every conversion): values made in this `env`.
    let value = unsafe {
        match value {
            AttrValue::Null => Null::to_napi_value(env, Null)?,
            AttrValue::Bool(b) => bool::to_napi_value(env, b)?,
            AttrValue::Int(i) => i64::to_napi_value(env, i)?,
            AttrValue::Float(f) => f64::to_napi_value(env, f)?,
            AttrValue::Str(s) => String::to_napi_value(env, s)?,
        }
    };
    let property = sys::napi_property_descriptor {
        utf8name: c"__proto__".as_ptr(),
        name: std::ptr::null_mut(),
        method: None,
        getter: None,
        setter: None,
        value,
        attributes: sys::PropertyAttributes::writable
            | sys::PropertyAttributes::enumerable
            | sys::PropertyAttributes::configurable,
        data: std::ptr::null_mut(),
    };
    // SAFETY: the object and the value are of this `env`; one descriptor.
    check(unsafe { sys::napi_define_properties(env, object.raw(), 1, &property) })
}

/// Attributes from an argument.
pub fn attrs(arg: Arg<Attrs>) -> Result<sojourn::Attrs> {
    arg.get("attrs").map(|a| a.0)
}

/// Any value, converted by hand (the tracker's options).
pub struct Any(sys::napi_value);

impl Any {
    /// The value.
    pub fn raw(&self) -> sys::napi_value {
        self.0
    }
}

impl TypeName for Any {
    fn type_name() -> &'static str {
        "unknown"
    }

    fn value_type() -> ValueType {
        ValueType::Unknown
    }
}

impl ValidateNapiValue for Any {
    unsafe fn validate(
        _env: sys::napi_env,
        _value: sys::napi_value,
    ) -> napi::Result<sys::napi_value> {
        Ok(std::ptr::null_mut())
    }
}

impl FromNapiValue for Any {
    unsafe fn from_napi_value(_env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        Ok(Any(value))
    }
}
