//! A Redis URL as errors and `Debug` show it: with its password, if any,
//! replaced by `***`, so that no message or log line carries it.

/// `url` without its password: `redis://user:pw@host` and
/// `redis://:pw@host` become `redis://user:***@host` and
/// `redis://:***@host`; a `password=` or `pass=` query value becomes `***`.
/// Text that the client does not take as a Redis URL shows only its
/// scheme: where its password is cannot be known (an unencoded `/`, `?`
/// or `#` in it ends the authority early, and what follows is not hidden
/// by the rules above).
pub fn redacted(url: &str) -> String {
    if redis::parse_redis_url(url).is_none() {
        return match url.split_once("://") {
            Some((scheme, _))
                if !scheme.is_empty()
                    && scheme
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
            {
                format!("{scheme}://(not a Redis URL, hidden)")
            }
            _ => "(not a Redis URL, hidden)".to_owned(),
        };
    }
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    // The authority ends at the first '/', '?' or '#'; its userinfo at
    // the last '@' within it.
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            // A bare userinfo is the password when it is all there is.
            None if scheme.is_some() => format!("***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, _)) if is_password_key(k) => {
                        format!("{k}=***")
                    }
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    match scheme {
        Some(scheme) => format!("{scheme}://{authority}{tail}"),
        None => format!("{authority}{tail}"),
    }
}

/// Whether a query key names a password, as the client decodes it
/// (`p%61ss` is `pass`), in any case.
fn is_password_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                // Two hex digits: one byte.
                decoded.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                decoded.push(b);
                i += 1;
            }
        }
    }
    decoded.eq_ignore_ascii_case(b"password") || decoded.eq_ignore_ascii_case(b"pass")
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn passwords_never_show() {
        let cases = [
            ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
            (
                "redis://:hunter2@10.0.0.1:6379",
                "redis://:***@10.0.0.1:6379",
            ),
            (
                "rediss://app:hunter2@cache:6380/1",
                "rediss://app:***@cache:6380/1",
            ),
            ("redis://hunter2@cache", "redis://***@cache"),
            ("redis://app:p@ss:w@rd@cache/0", "redis://app:***@cache/0"),
            (
                "redis+unix:///run/redis.sock?db=1&pass=hunter2",
                "redis+unix:///run/redis.sock?db=1&pass=***",
            ),
            (
                "redis://cache/0?password=hunter2",
                "redis://cache/0?password=***",
            ),
            (
                "redis+unix:///run/redis.sock?P%61ss=hunter2",
                "redis+unix:///run/redis.sock?P%61ss=***",
            ),
            // Not URLs the client takes: where the password ends is unknown.
            (
                "redis://:hun/ter2@cache",
                "redis://(not a Redis URL, hidden)",
            ),
            (
                "redis://app:hun#ter2@cache:6379",
                "redis://(not a Redis URL, hidden)",
            ),
            ("app:hunter2@cache:6379", "(not a Redis URL, hidden)"),
            ("hunter2", "(not a Redis URL, hidden)"),
        ];
        for (url, shown) in cases {
            assert_eq!(redacted(url), shown);
            assert!(!redacted(url).contains("hunter2"));
        }
    }
}
