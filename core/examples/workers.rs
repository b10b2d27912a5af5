//! Two worker processes behind a load balancer, one visitor, one session,
//! one end: the Redis store shares the session between the processes. Run
//! it with `make demo` (which starts a redis-server for it), or by hand
//! with `SOJOURN_REDIS_URL=redis://127.0.0.1:6379 cargo run --example workers`.
//!
//! This program is the balancer and, started again as `workers worker
//! NAME`, each worker: the balancer hands the visitor's requests to the
//! workers in turn over their standard input, and reads back what each
//! answered and each session end it reported.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use sojourn::{Hints, Kind, Result, Tracker};

/// Short, so that the demo sees its session idle out.
const IDLE: Duration = Duration::from_secs(1);

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("worker") => worker(&args[2], &args[3]),
        _ => balancer(),
    }
}

fn redis_url() -> String {
    std::env::var("SOJOURN_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// One worker process: a tracker on the shared Redis, answering the
/// balancer's requests line by line on its standard output.
fn worker(name: &str, prefix: &str) -> Result<()> {
    let out = std::sync::Arc::new(std::sync::Mutex::new(std::io::stdout()));
    let ends = std::sync::Arc::clone(&out);
    let me = name.to_owned();
    let tracker = Tracker::builder()
        .redis(redis_url())
        .key_prefix(prefix)
        .secret("demo-secret-do-not-use-in-production")
        .idle_timeout(IDLE)
        .sweep_interval(Duration::from_millis(50))
        .on_end(move |end| {
            let line = format!(
                "end {} {} after {} views, reported by worker {me}",
                end.session.id, end.reason, end.session.view_sequence
            );
            let _ = writeln!(ends.lock().unwrap(), "{line}");
        })
        .build()?;
    for line in std::io::stdin().lock().lines() {
        let line = line.expect("the balancer's pipe");
        let mut words = line.split_whitespace();
        match words.next() {
            Some("visit") => {
                let (session, outcome) = tracker.resume(words.next(), Hints::default())?;
                let tick = tracker.track(session.id, Kind::View)?;
                let answer = format!(
                    "{} {outcome} session {} view #{}",
                    session.token, session.id, tick.view_sequence
                );
                writeln!(out.lock().unwrap(), "{answer}").expect("stdout");
            }
            _ => break,
        }
    }
    tracker.close();
    writeln!(out.lock().unwrap(), "bye").expect("stdout");
    Ok(())
}

/// A worker process seen from the balancer.
struct Worker {
    name: &'static str,
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
}

impl Worker {
    fn spawn(name: &'static str, prefix: &str, ends: Sender<String>) -> Worker {
        let mut child = Command::new(std::env::current_exe().expect("this program"))
            .args(["worker", name, prefix])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("a worker process");
        let stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        let (answers, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(|l| l.ok()) {
                let to = if line.starts_with("end ") {
                    &ends
                } else {
                    &answers
                };
                let _ = to.send(line);
            }
        });
        Worker {
            name,
            child,
            stdin,
            lines,
        }
    }

    /// Sends the visitor's request; returns its token and what it saw.
    fn visit(&mut self, token: Option<&str>) -> (String, String) {
        writeln!(self.stdin, "visit {}", token.unwrap_or("")).expect("worker's stdin");
        let answer = self.lines.recv().expect("the worker answers");
        let (token, rest) = answer.split_once(' ').expect("token and outcome");
        (token.to_owned(), rest.to_owned())
    }

    fn stop(mut self) {
        writeln!(self.stdin, "quit").expect("worker's stdin");
        let _ = self.lines.recv_timeout(Duration::from_secs(10));
        let _ = self.child.wait();
    }
}

fn balancer() -> Result<()> {
    let prefix = format!("demo-{}", std::process::id());
    println!(
        "Two worker processes share sessions in Redis at {}.",
        redis_url()
    );
    let (ends_tx, ends) = mpsc::channel();
    let mut a = Worker::spawn("A", &prefix, ends_tx.clone());
    let mut b = Worker::spawn("B", &prefix, ends_tx);

    println!("1. The visitor's first request lands on worker {}:", a.name);
    let (token, seen) = a.visit(None);
    println!("   {seen}");
    println!(
        "2. Its next requests land on worker {}, then {}:",
        b.name, a.name
    );
    let (token, seen) = b.visit(Some(&token));
    println!("   {seen}");
    let (_, seen) = a.visit(Some(&token));
    println!("   {seen}");

    println!("3. It leaves; both workers sweep, and one of them reports the end:");
    let waited = Instant::now();
    let end = ends
        .recv_timeout(IDLE * 10)
        .expect("the session ends once its idle timeout has passed");
    println!(
        "   {end} ({} ms after the last request)",
        waited.elapsed().as_millis()
    );
    // Long enough for both drivers to sweep again many times.
    std::thread::sleep(Duration::from_millis(500));
    a.stop();
    b.stop();
    let more: Vec<String> = ends.try_iter().collect();
    assert!(more.is_empty(), "an end reported twice: {more:?}");
    println!("   and no other end was reported: one visitor, one session, one end.");
    Ok(())
}
