//! Tokens and ids as a client hands them over: any text, a real token
//! changed in a few places, any 128 bits. No forgery is accepted, and a
//! bad token only ever starts a new session.

use arbitrary::Unstructured;
use sojourn::{Hints, Outcome, SessionId};

use crate::tracker;

pub fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => any_text(rest),
        1 => near_miss(rest),
        _ => bits(rest),
    }
}

/// Any text as an id and as a token, signed and unsigned.
fn any_text(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let parsed = SessionId::parse(text);
    match &parsed {
        Ok(id) => {
            let canonical = id.to_string();
            assert!(canonical.eq_ignore_ascii_case(text), "{text:?} is not {id}");
            assert_eq!(SessionId::parse(&canonical).as_ref(), Ok(id));
        }
        Err(e) => assert_eq!(e.code(), "INVALID_SESSION_ID"),
    }

    // Signed: nothing here is a token the tracker made, so it starts anew.
    let (signed, _) = tracker(true);
    let (session, outcome) = signed
        .resume(Some(text), Hints::default())
        .expect("a bad token is never an error");
    assert_eq!(outcome, Outcome::Started, "{text:?} was accepted");
    assert_eq!(
        signed.stats().unwrap().rejected,
        u64::from(!text.is_empty())
    );
    let (again, outcome) = signed
        .resume(Some(&session.token), Hints::default())
        .unwrap();
    assert_eq!((again.id, outcome), (session.id, Outcome::Existing));

    // Unsigned: an id is taken at its word, and nothing else is.
    let (unsigned, _) = tracker(false);
    let (session, outcome) = unsigned.resume(Some(text), Hints::default()).unwrap();
    match outcome {
        Outcome::Revived => assert_eq!(Ok(session.id), parsed),
        Outcome::Started => {}
        Outcome::Existing => panic!("{text:?} found a session in an empty tracker"),
    }
}

/// A token the tracker signed, edited: any edit is refused.
fn near_miss(bytes: &[u8]) {
    let mut u = Unstructured::new(bytes);
    let Ok(bits) = u.arbitrary::<u128>() else {
        return;
    };
    let Ok(id) = SessionId::from_u128(bits) else {
        return;
    };
    let (t, _) = tracker(true);
    let token = t.token(id);
    let mut edited = token.clone().into_bytes();
    let edits = u.int_in_range(1..=4u8).unwrap_or(1);
    for _ in 0..edits {
        let at = u.choose_index(edited.len() + 1).unwrap_or(0);
        let byte = u.arbitrary::<u8>().unwrap_or(b'x');
        match u.int_in_range(0..=2u8).unwrap_or(0) {
            0 if at < edited.len() => edited[at] = byte,
            1 if at < edited.len() => {
                edited.remove(at);
            }
            _ => edited.insert(at, byte),
        }
    }
    let Ok(edited) = String::from_utf8(edited) else {
        return;
    };
    if edited == token {
        return;
    }
    let (session, outcome) = t.resume(Some(&edited), Hints::default()).unwrap();
    assert_eq!(outcome, Outcome::Started, "{edited:?} passed for {token:?}");
    assert_ne!(session.id, id);
}

/// Any 128 bits as an id: refused, or written and read back the same.
fn bits(bytes: &[u8]) {
    let Ok(bits) = Unstructured::new(bytes).arbitrary::<u128>() else {
        return;
    };
    if let Ok(id) = SessionId::from_u128(bits) {
        assert_eq!(id.as_u128(), bits);
        let text = std::str::from_utf8(&id.encode()).unwrap().to_owned();
        assert_eq!(text, id.to_string());
        assert_eq!(SessionId::parse(&text.to_ascii_uppercase()), Ok(id));
    }
}
