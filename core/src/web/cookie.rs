//! The session cookie: what the middleware of every language sets, and
//! how it reads the cookie a browser sends back.

use std::time::Duration;

use crate::error::{Error, Result};

/// The default name of the session cookie.
pub const DEFAULT_COOKIE_NAME: &str = "sojourn";

/// The longest cookie name accepted.
const MAX_NAME_BYTES: usize = 64;

/// When the cookie may be sent on requests from other sites.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SameSite {
    /// On top-level navigations from other sites, not on their requests
    /// (the browsers' default, and a defence against cross-site writes).
    #[default]
    Lax,
    /// Only on requests from this site.
    Strict,
    /// On every request, cross-site too (needs `Secure`).
    None,
}

/// When the cookie gets `Secure` (sent over HTTPS only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Secure {
    /// When the request came over HTTPS (as the framework says: behind a
    /// proxy, configure it to trust `X-Forwarded-Proto`).
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never (plain-HTTP development only).
    Never,
}

/// The session cookie's attributes. It is always `HttpOnly`: page scripts
/// never read the token from it (the browser client keeps its own copy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieOptions {
    /// Its name (default `"sojourn"`).
    pub name: String,
    /// Its `Domain` (default none: this host only).
    pub domain: Option<String>,
    /// Its `Path` (default `"/"`).
    pub path: String,
    /// Its `SameSite` (default `Lax`).
    pub same_site: SameSite,
    /// When it is `Secure` (default: on HTTPS requests).
    pub secure: Secure,
    /// Its `Max-Age` (default: the tracker's `retention`, as long as the
    /// tracker can link a returning visitor to the session).
    pub max_age: Option<Duration>,
}

impl Default for CookieOptions {
    fn default() -> Self {
        CookieOptions {
            name: DEFAULT_COOKIE_NAME.to_owned(),
            domain: None,
            path: "/".to_owned(),
            same_site: SameSite::Lax,
            secure: Secure::Auto,
            max_age: None,
        }
    }
}

impl CookieOptions {
    /// `INVALID_ARGUMENT` for a name that is not a cookie name, a domain or
    /// path that would break the header, or `SameSite=None` never secure.
    pub fn validate(&self) -> Result<()> {
        let name_ok = !self.name.is_empty()
            && self.name.len() <= MAX_NAME_BYTES
            && self.name.bytes().all(is_token_byte);
        if !name_ok {
            return Err(Error::invalid(
                "cookie name",
                "1 to 64 letters, digits or !#$%&'*+-.^_`|~",
            ));
        }
        if let Some(domain) = &self.domain {
            if domain.is_empty() || !domain.bytes().all(is_attribute_byte) {
                return Err(Error::invalid("cookie domain", "not a domain"));
            }
        }
        if !self.path.starts_with('/') || !self.path.bytes().all(is_attribute_byte) {
            return Err(Error::invalid(
                "cookie path",
                "a path starting with /, without ; or spaces",
            ));
        }
        if self.same_site == SameSite::None && self.secure == Secure::Never {
            return Err(Error::invalid(
                "cookie same_site",
                "SameSite=None needs Secure (browsers drop the cookie otherwise)",
            ));
        }
        Ok(())
    }

    /// The name of the companion cookie in which the browser client keeps
    /// its counters (`NAME_hints`, value `VIEWS.EVENTS`), so that a page
    /// request revives a forgotten session with them.
    pub fn hints_name(&self) -> String {
        format!("{}_hints", self.name)
    }

    /// The `Set-Cookie` value that keeps `token` for `max_age` (when the
    /// options give none).
    pub fn set_cookie(&self, token: &str, https: bool, max_age: Duration) -> String {
        let age = self.max_age.unwrap_or(max_age).as_secs();
        let mut out = format!("{}={token}; Path={}; Max-Age={age}", self.name, self.path);
        if let Some(domain) = &self.domain {
            out.push_str("; Domain=");
            out.push_str(domain);
        }
        out.push_str("; HttpOnly; SameSite=");
        out.push_str(match self.same_site {
            SameSite::Lax => "Lax",
            SameSite::Strict => "Strict",
            SameSite::None => "None",
        });
        let secure = match self.secure {
            Secure::Auto => https || self.same_site == SameSite::None,
            Secure::Always => true,
            Secure::Never => false,
        };
        if secure {
            out.push_str("; Secure");
        }
        out
    }
}

/// The value of the cookie `name` in a `Cookie` header, if it is there
/// (the first one of that name; surrounding quotes taken off).
pub fn find<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (n, v) = pair.trim().split_once('=')?;
        if n.trim() != name {
            return None;
        }
        let v = v.trim();
        Some(
            v.strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v),
        )
    })
}

/// The counters of a hints cookie (`VIEWS.EVENTS`), or none for anything
/// else: a bad hint is ignored, never an error.
pub fn parse_hints(value: &str) -> Option<(u64, u64)> {
    let (views, events) = value.split_once('.')?;
    let number = |s: &str| {
        (!s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    Some((number(views)?, number(events)?))
}

/// RFC 6265's token: visible ASCII but separators.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// What a `Domain` or `Path` may hold without breaking the header.
fn is_attribute_byte(b: u8) -> bool {
    b.is_ascii_graphic() && b != b';' && b != b','
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);

    #[test]
    fn the_default_cookie_is_http_only_lax_and_secure_on_https() {
        let c = CookieOptions::default();
        assert_eq!(
            c.set_cookie("abc.def", false, DAY),
            "sojourn=abc.def; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax"
        );
        assert_eq!(
            c.set_cookie("abc", true, DAY),
            "sojourn=abc; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax; Secure"
        );
    }

    #[test]
    fn every_attribute_is_written_as_given() {
        let c = CookieOptions {
            name: "sid".into(),
            domain: Some("example.com".into()),
            path: "/app".into(),
            same_site: SameSite::Strict,
            secure: Secure::Always,
            max_age: Some(Duration::from_secs(60)),
        };
        c.validate().unwrap();
        assert_eq!(
            c.set_cookie("t", false, DAY),
            "sid=t; Path=/app; Max-Age=60; Domain=example.com; HttpOnly; SameSite=Strict; Secure"
        );
        let none = CookieOptions {
            same_site: SameSite::None,
            ..CookieOptions::default()
        };
        assert!(
            none.set_cookie("t", false, DAY)
                .ends_with("SameSite=None; Secure")
        );
    }

    #[test]
    fn options_that_would_break_the_header_are_refused() {
        let bad = [
            CookieOptions {
                name: String::new(),
                ..Default::default()
            },
            CookieOptions {
                name: "a b".into(),
                ..Default::default()
            },
            CookieOptions {
                name: "a;b".into(),
                ..Default::default()
            },
            CookieOptions {
                name: "x".repeat(65),
                ..Default::default()
            },
            CookieOptions {
                domain: Some("a;b".into()),
                ..Default::default()
            },
            CookieOptions {
                domain: Some(String::new()),
                ..Default::default()
            },
            CookieOptions {
                path: "app".into(),
                ..Default::default()
            },
            CookieOptions {
                path: "/a b".into(),
                ..Default::default()
            },
            CookieOptions {
                same_site: SameSite::None,
                secure: Secure::Never,
                ..Default::default()
            },
        ];
        for options in bad {
            let err = options.validate().unwrap_err();
            assert_eq!(err.code(), "INVALID_ARGUMENT", "{options:?}");
        }
        CookieOptions::default().validate().unwrap();
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let header = "a=1; sojourn=\"tok.sig\"; sojourn=second; sojourn_hints=3.4";
        assert_eq!(find(header, "sojourn"), Some("tok.sig"));
        assert_eq!(find(header, "sojourn_hints"), Some("3.4"));
        assert_eq!(find(header, "b"), None);
        assert_eq!(find("", "sojourn"), None);
        assert_eq!(find("sojourn", "sojourn"), None);
        assert_eq!(find("xsojourn=1", "sojourn"), None);
    }

    #[test]
    fn hints_are_two_counters_or_nothing() {
        assert_eq!(parse_hints("3.4"), Some((3, 4)));
        assert_eq!(parse_hints("0.0"), Some((0, 0)));
        for bad in [
            "",
            "3",
            "3.",
            ".4",
            "-1.2",
            "1.2.3",
            "a.b",
            "1e3.1",
            "99999999999999999999999.1",
            " 1.2",
        ] {
            assert_eq!(parse_hints(bad), None, "{bad}");
        }
    }
}
