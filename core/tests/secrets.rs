//! Secrets never leak (issue #14): no token secret, snapshot key or Redis
//! password shows in a `Debug`, an error's `Display`, `Debug` or source
//! chain, a warning, or a file the tracker writes. Each secret here is a
//! distinctive value, looked for in every form a careless formatter might
//! give it (as text, hex, base64, a byte list); a test fails if one shows.
//!
//! The Redis parts start their own redis-server (with `requirepass`, which
//! the shared one of `scripts/with-redis` has not) on a free port.

use std::error::Error as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use sojourn::snapshot::SnapshotKey;
use sojourn::web::{DEFAULT_COLLECT_PATH, Request, Web, WebOptions};
use sojourn::{Error, Hints, Kind, Tracker, TrackerBuilder, Warning};

const SECRET: &str = "Zq7-TOKEN-SECRET-xK2pL9-first";
const OLD_SECRET: &str = "Wv3-TOKEN-SECRET-mR8nQ4-older";
const SHORT_SECRET: &str = "Jx5-SHORT-sec";
const KEY: [u8; 32] = *b"K9f-SNAPSHOT-KEY-tH4wB7-32bytes!";
const OTHER_KEY: [u8; 32] = *b"P2d-SNAPSHOT-KEY-oZ6yC1-32bytes?";
const PASSWORD: &str = "Rn4-REDIS-PASSWORD-vE8sJ3";
const WRONG_PASSWORD: &str = "Gy6-WRONG-PASSWORD-aU1kT5";

/// Every form in which `secret` could show: itself, hex (both cases),
/// base64 (both alphabets, padded or not), and `Debug` of its bytes.
fn forms(secret: &[u8]) -> Vec<String> {
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let mut forms = vec![
        String::from_utf8_lossy(secret).into_owned(),
        hex.clone(),
        hex.to_uppercase(),
        STANDARD.encode(secret),
        STANDARD_NO_PAD.encode(secret),
        URL_SAFE.encode(secret),
        URL_SAFE_NO_PAD.encode(secret),
    ];
    // `Debug` of a `Vec<u8>` or `[u8; N]`: the first eight bytes are enough.
    let list: Vec<String> = secret.iter().take(8).map(u8::to_string).collect();
    forms.push(list.join(", "));
    // The distinctive middle of the text, should it be cut or quoted.
    let text = String::from_utf8_lossy(secret).into_owned();
    if text.len() > 16 {
        forms.push(text[4..16].to_owned());
    }
    forms
}

fn all_forms() -> Vec<String> {
    [
        SECRET.as_bytes(),
        OLD_SECRET.as_bytes(),
        SHORT_SECRET.as_bytes(),
        &KEY,
        &OTHER_KEY,
        PASSWORD.as_bytes(),
        WRONG_PASSWORD.as_bytes(),
    ]
    .into_iter()
    .flat_map(forms)
    .collect()
}

/// Fails if any secret shows in `text` (`what` says where it came from).
#[track_caller]
fn assert_clean(what: &str, text: &str) {
    for form in all_forms() {
        assert!(
            !text.contains(&form),
            "{what} shows a secret ({form:?}): {text}"
        );
    }
}

/// An error's `Display`, `Debug`, and those of every source below it.
#[track_caller]
fn assert_clean_error(what: &str, err: &Error) {
    assert_clean(what, &err.to_string());
    assert_clean(what, &format!("{err:?}"));
    assert_clean(what, &format!("{err:#?}"));
    let mut source = err.source();
    while let Some(e) = source {
        assert_clean(what, &e.to_string());
        assert_clean(what, &format!("{e:?}"));
        source = e.source();
    }
}

fn key(bytes: &[u8; 32]) -> SnapshotKey {
    SnapshotKey::new(bytes).unwrap()
}

/// Warnings given to `on_warning`, as `Display` and `Debug`.
fn warnings_into(sink: &Arc<Mutex<Vec<String>>>) -> impl Fn(&Warning) + Send + Sync + 'static {
    let sink = Arc::clone(sink);
    move |w| sink.lock().unwrap().push(format!("{w} {w:?}"))
}

/// Waits up to 5 s for the driver's thread (on the real clock: it is the
/// driver's own failure that warns) to warn once.
fn wait_for_warning(warnings: &Mutex<Vec<String>>) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while warnings.lock().unwrap().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// At least one warning came, and none shows a secret.
fn assert_warned_clean(warnings: &Mutex<Vec<String>>, what: &str) {
    let warnings = warnings.lock().unwrap();
    assert!(!warnings.is_empty(), "no {what}");
    for w in warnings.iter() {
        assert_clean(what, w);
    }
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sojourn-secrets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn assert_file_clean(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    for form in all_forms() {
        assert!(
            !bytes.windows(form.len()).any(|w| w == form.as_bytes()),
            "{} holds a secret ({form:?})",
            path.display()
        );
    }
    // The raw key bytes too (not only their text forms).
    for secret in [&KEY[..], &OTHER_KEY[..], SECRET.as_bytes()] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret),
            "{} holds a key's bytes",
            path.display()
        );
    }
}

#[test]
fn forms_are_found() {
    // The check itself works: each secret is found in its own forms.
    for form in forms(SECRET.as_bytes()) {
        let caught = std::panic::catch_unwind(|| assert_clean("probe", &format!("<{form}>")));
        assert!(caught.is_err(), "{form} not caught");
    }
}

#[test]
fn debug_of_the_builder_config_signer_and_key_shows_none() {
    let builder = Tracker::builder()
        .secrets([SECRET, OLD_SECRET])
        .snapshot_key(key(&KEY))
        .redis(format!("redis://app:{PASSWORD}@127.0.0.1:1/0"))
        .sweep_interval(Duration::ZERO);
    assert_clean("builder Debug", &format!("{builder:?}"));
    assert_clean("builder Debug", &format!("{builder:#?}"));
    assert_clean("config Debug", &format!("{:?}", builder.config()));
    assert_clean("key Debug", &format!("{:?}", key(&KEY)));

    let tracker = Tracker::builder()
        .secret(SECRET)
        .snapshot_key(key(&KEY))
        .sweep_interval(Duration::ZERO)
        .build()
        .unwrap();
    assert_clean("tracker Debug", &format!("{tracker:?}"));
    assert_clean("tracker Debug", &format!("{tracker:#?}"));
    assert_clean("signer Debug", &format!("{:?}", tracker.signer()));
    let session = tracker.start(None, None).unwrap();
    assert_clean("session Debug", &format!("{session:?}"));
    assert_clean("token", &session.token);
    let (_, _) = tracker
        .resume(Some(&session.token), Hints::default())
        .unwrap();
    assert_clean("stats Debug", &format!("{:?}", tracker.stats().unwrap()));
    tracker.close();
}

#[test]
fn redis_passwords_in_every_url_form_are_hidden_by_debug() {
    let urls = [
        format!("redis://:{PASSWORD}@127.0.0.1:6379/0"),
        format!("redis://app:{PASSWORD}@127.0.0.1:6379"),
        format!("rediss://app:{PASSWORD}@cache.internal:6380/1"),
        format!("redis://{PASSWORD}@cache"),
        format!("redis+unix:///run/redis.sock?db=1&pass={PASSWORD}"),
        format!("redis+unix:///run/redis.sock?PASS={PASSWORD}&db=1"),
        format!("redis://cache/0?password={PASSWORD}"),
        // Not valid URLs, as a hurried configuration writes them: a
        // password with a character that ends the authority, unencoded.
        format!("redis://:{PASSWORD}/x@127.0.0.1:6379"),
        format!("redis://app:{PASSWORD}#1@127.0.0.1:6379"),
        format!("redis://app:{PASSWORD}?@127.0.0.1:6379"),
        format!("redis+unix:///run/redis.sock?p%61ss={PASSWORD}"),
        // No scheme at all.
        format!("app:{PASSWORD}@127.0.0.1:6379"),
    ];
    for url in &urls {
        let builder = Tracker::builder().redis(url.clone());
        assert_clean(url, &format!("{:?}", builder.config()));
        assert_clean(url, &format!("{:?}", builder.config().redis));
        let cluster = Tracker::builder().redis_cluster([url.clone(), url.clone()]);
        assert_clean(url, &format!("{:?}", cluster.config()));
    }
}

#[test]
fn errors_from_bad_secrets_and_keys_show_none() {
    let sweep = |b: TrackerBuilder| b.sweep_interval(Duration::ZERO);
    let bad = [
        sweep(Tracker::builder().secret(SHORT_SECRET)).build(),
        sweep(Tracker::builder().secrets([SECRET, SHORT_SECRET])).build(),
        sweep(Tracker::builder().secret(SECRET).secrets([OLD_SECRET])).build(),
        sweep(Tracker::builder().secret(SECRET).unsigned_tokens(true)).build(),
        sweep(Tracker::builder().secret(SECRET).max_sessions(0)).build(),
    ];
    for result in bad {
        let err = result.expect_err("refused");
        assert_eq!(err.code(), "INVALID_ARGUMENT");
        assert_clean_error("bad secret", &err);
    }
    for len in [0, 16, 31, 33, 64] {
        let bytes: Vec<u8> = KEY.iter().cycle().take(len).copied().collect();
        let err = SnapshotKey::new(&bytes).expect_err("refused");
        assert_clean_error("bad snapshot key", &err);
    }
}

#[test]
fn snapshots_hold_no_secret_and_their_errors_show_no_key() {
    let path = temp("keyed.snap");
    let plain = temp("plain.snap");
    let tracker = Tracker::builder()
        .secret(SECRET)
        .snapshot_key(key(&KEY))
        .sweep_interval(Duration::ZERO)
        .build()
        .unwrap();
    let session = tracker.start(Some("user-1"), None).unwrap();
    tracker.track(session.id, Kind::View).unwrap();
    tracker.save(&path).unwrap();
    tracker.close();
    assert_file_clean(&path);
    let unkeyed = Tracker::builder()
        .secret(SECRET)
        .sweep_interval(Duration::ZERO)
        .build()
        .unwrap();
    unkeyed.start(None, None).unwrap();
    unkeyed.save(&plain).unwrap();
    unkeyed.close();
    assert_file_clean(&plain);

    let load = |file: &Path, k: Option<&[u8; 32]>| {
        let mut b = Tracker::builder()
            .secret(SECRET)
            .sweep_interval(Duration::ZERO)
            .load(file);
        if let Some(k) = k {
            b = b.snapshot_key(key(k));
        }
        b.build()
    };
    // The wrong key, no key, a key for a plain file, an altered file.
    let mut altered = std::fs::read(&path).unwrap();
    let at = altered.len() - 20;
    altered[at] ^= 0x55;
    let altered_path = temp("altered.snap");
    std::fs::write(&altered_path, &altered).unwrap();
    for (file, k) in [
        (&path, Some(&OTHER_KEY)),
        (&path, None),
        (&plain, Some(&KEY)),
        (&altered_path, Some(&KEY)),
    ] {
        let err = load(file, k).expect_err("refused");
        assert_eq!(err.code(), "SNAPSHOT_ERROR");
        assert_clean_error("snapshot load", &err);
    }
    let back = load(&path, Some(&KEY)).unwrap();
    assert!(back.get(session.id).unwrap().is_some());
    back.close();
    // A tracker's own snapshot that cannot be saved warns, showing no key.
    let warnings = Arc::new(Mutex::new(Vec::new()));
    let unwritable = temp("no-such-dir").join("x").join("own.snap");
    let own = Tracker::builder()
        .secret(SECRET)
        .snapshot_key(key(&KEY))
        .snapshot(&unwritable)
        .snapshot_interval(Duration::from_millis(5))
        .sweep_interval(Duration::from_millis(5))
        .on_warning(warnings_into(&warnings))
        .build()
        .unwrap();
    own.start(None, None).unwrap();
    wait_for_warning(&warnings);
    own.close();
    assert_warned_clean(&warnings, "snapshot warning");
    for p in [&path, &plain, &altered_path] {
        std::fs::remove_file(p).ok();
    }
}

/// A redis-server of the test's own, with a password, on a free port.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(password: &str) -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(["--requirepass", password])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (Debian: apt-get install redis-server)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Server { child, port }
    }

    fn stop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

#[test]
fn redis_errors_and_warnings_show_no_password() {
    let mut server = Server::start(PASSWORD);
    let port = server.port;
    let build = |url: String| {
        Tracker::builder()
            .secret(SECRET)
            .sweep_interval(Duration::ZERO)
            .redis(url)
            .key_prefix(format!("secrets-{}", std::process::id()))
            .build()
    };
    let refused = [
        // The wrong password, with and without a user.
        build(format!("redis://:{WRONG_PASSWORD}@127.0.0.1:{port}")),
        build(format!(
            "redis://default:{WRONG_PASSWORD}@127.0.0.1:{port}/0"
        )),
        build(format!(
            "redis://127.0.0.1:{port}/0?password={WRONG_PASSWORD}"
        )),
        // Nothing listening.
        build(format!("redis://:{PASSWORD}@127.0.0.1:1")),
        // Not a URL the client takes.
        build(format!("redis://:{PASSWORD}@127.0.0.1:{port}/not-a-db")),
        build(format!("redis://:{PASSWORD}/x@127.0.0.1:{port}")),
        build(format!("redis:/:{PASSWORD}@127.0.0.1:{port}")),
        build(PASSWORD.to_owned()),
    ];
    for result in refused {
        let err = result.expect_err("refused");
        assert_clean_error("redis error", &err);
    }
    // Two nodes that refuse: one password wrong, then both right.
    for second in [WRONG_PASSWORD, PASSWORD] {
        let cluster = Tracker::builder()
            .secret(SECRET)
            .sweep_interval(Duration::ZERO)
            .redis_cluster([
                format!("redis://:{PASSWORD}@127.0.0.1:1"),
                format!("redis://:{second}@127.0.0.1:2"),
            ])
            .store_timeout(Duration::from_millis(200))
            .build();
        assert_clean_error("cluster error", &cluster.expect_err("refused"));
    }
    let bad_node = Tracker::builder()
        .sweep_interval(Duration::ZERO)
        .redis_cluster([format!("redis://:{PASSWORD}/x@127.0.0.1:1")])
        .build();
    assert_clean_error("cluster error", &bad_node.expect_err("refused"));

    // The right password; then the server goes away: the calls' errors,
    // and the driver's warnings, show no password.
    let warnings = Arc::new(Mutex::new(Vec::new()));
    let tracker = Tracker::builder()
        .secret(SECRET)
        .sweep_interval(Duration::from_millis(10))
        .on_warning(warnings_into(&warnings))
        .redis(format!("redis://:{PASSWORD}@127.0.0.1:{port}/0"))
        .key_prefix(format!("secrets-{}", std::process::id()))
        .store_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let session = tracker.start(Some("user-1"), None).unwrap();
    tracker.track(session.id, Kind::View).unwrap();
    server.stop();
    let err = tracker.track(session.id, Kind::View).expect_err("no Redis");
    assert_eq!(err.code(), "STORE_ERROR");
    assert_clean_error("store error", &err);
    let err = tracker.sweep().expect_err("no Redis");
    assert_clean_error("sweep error", &err);
    // The collect endpoint answers any client on the internet: its 503
    // says the store failed, and neither the password nor where Redis is.
    let web = Web::new(WebOptions::default()).unwrap();
    let request = Request {
        method: "POST",
        path: DEFAULT_COLLECT_PATH,
        https: true,
        cookie: None,
        token_header: None,
        user_agent: Some("Mozilla/5.0"),
    };
    let reply = web.collect(&tracker, &request, br#"{"items":[{"kind":"view"}]}"#);
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert_clean("collect reply", &reply.body);
    for internal in ["127.0.0.1", &port.to_string(), "redis://", "refused"] {
        assert!(
            !reply.body.contains(internal),
            "the collect reply tells a client {internal:?}: {}",
            reply.body
        );
    }
    wait_for_warning(&warnings);
    tracker.close();
    assert_warned_clean(&warnings, "store warning");
}
