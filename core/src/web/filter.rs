//! What should make no session: static files, health checks, and robots
//! that say they are robots. Asked by the middleware before anything else.

/// The requests the middleware leaves alone (no session, no cookie).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// Exact paths (health checks and the like).
    pub paths: Vec<String>,
    /// Path prefixes (folders of static files).
    pub prefixes: Vec<String>,
    /// File extensions, without the dot, lower case.
    pub extensions: Vec<String>,
    /// Words that mark a robot's `User-Agent` (lower case; matched
    /// anywhere in it, whatever its case). Empty to count robots too.
    pub bots: Vec<String>,
}

const PATHS: &[&str] = &[
    "/health",
    "/healthz",
    "/livez",
    "/readyz",
    "/ready",
    "/ping",
    "/metrics",
    "/favicon.ico",
    "/robots.txt",
    "/sitemap.xml",
];
const PREFIXES: &[&str] = &["/static/", "/assets/", "/_next/", "/.well-known/"];
const EXTENSIONS: &[&str] = &[
    "css", "js", "mjs", "map", "png", "jpg", "jpeg", "gif", "svg", "ico", "webp", "avif", "woff",
    "woff2", "ttf", "otf", "eot", "mp4", "webm", "mp3", "pdf", "zip", "wasm",
];
// Robots that say so; a browser, headless or not, is not one of them.
const BOTS: &[&str] = &[
    "bot",
    "crawl",
    "spider",
    "slurp",
    "facebookexternalhit",
    "mediapartners",
    "preview",
    "archiver",
    "lighthouse",
    "pingdom",
];

fn owned(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

impl Default for Filter {
    fn default() -> Self {
        Filter {
            paths: owned(PATHS),
            prefixes: owned(PREFIXES),
            extensions: owned(EXTENSIONS),
            bots: owned(BOTS),
        }
    }
}

impl Filter {
    /// A filter that skips nothing.
    pub fn none() -> Self {
        Filter {
            paths: Vec::new(),
            prefixes: Vec::new(),
            extensions: Vec::new(),
            bots: Vec::new(),
        }
    }

    /// Whether a request for `path` (its query, if any, is not looked at)
    /// from `user_agent` should make no session.
    pub fn skips(&self, path: &str, user_agent: Option<&str>) -> bool {
        let path = path.split(['?', '#']).next().unwrap_or_default();
        if self.paths.iter().any(|p| p == path)
            || self.prefixes.iter().any(|p| path.starts_with(p.as_str()))
        {
            return true;
        }
        let last = path.rsplit('/').next().unwrap_or_default();
        if let Some((_, ext)) = last.rsplit_once('.') {
            if self.extensions.iter().any(|e| e.eq_ignore_ascii_case(ext)) {
                return true;
            }
        }
        match user_agent {
            Some(ua) if !self.bots.is_empty() => {
                // Bounded: a header is at most a few KB, a word a few bytes.
                let ua = ua.to_ascii_lowercase();
                self.bots
                    .iter()
                    .any(|b| !b.is_empty() && ua.contains(b.as_str()))
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
    const HEADLESS: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36";

    #[test]
    fn pages_from_browsers_make_sessions() {
        let f = Filter::default();
        for path in [
            "/",
            "/pricing",
            "/blog/post-1",
            "/api/cart",
            "/report.json",
            "/a.b/c",
        ] {
            assert!(!f.skips(path, Some(CHROME)), "{path}");
            assert!(!f.skips(path, Some(HEADLESS)), "{path}");
            assert!(!f.skips(path, None), "{path}");
        }
    }

    #[test]
    fn static_files_health_checks_and_robots_do_not() {
        let f = Filter::default();
        for path in [
            "/healthz",
            "/favicon.ico",
            "/static/app.js",
            "/assets/x",
            "/main.CSS",
            "/img/logo.png?v=3",
            "/robots.txt",
            "/.well-known/security.txt",
        ] {
            assert!(f.skips(path, Some(CHROME)), "{path}");
        }
        for ua in [
            "Googlebot/2.1 (+http://www.google.com/bot.html)",
            "Mozilla/5.0 (compatible; bingbot/2.0)",
            "facebookexternalhit/1.1",
            "Mozilla/5.0 (compatible; AhrefsBot/7.0)",
        ] {
            assert!(f.skips("/", Some(ua)), "{ua}");
        }
        // Exact paths only: a page under /health is a page.
        assert!(!f.skips("/healthz/report", Some(CHROME)));
    }

    #[test]
    fn a_filter_that_skips_nothing() {
        let f = Filter::none();
        assert!(!f.skips("/static/app.js", Some("Googlebot")));
    }
}
