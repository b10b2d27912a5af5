//! Delivery of session ends. Departures queue their ends (under no store
//! lock) in a bounded FIFO: past `max_pending_ends` the oldest is dropped
//! and counted, so that a slow `on_end` never grows memory without bound.
//! The ends are handed over in order, one deliverer at a time: to `on_end`
//! by the deliverer thread, `sweep` and `close`; or, with `on_ends_ready`,
//! taken by the binding itself (`take`), on its own thread.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{self, ThreadId};
use std::time::Instant;

use crate::sync::{Condvar, Mutex};

use crate::config::{Config, OnEnd, OnEndScope, OnEndsReady};
use crate::session::SessionEnd;

/// Where ends go.
enum Sink {
    /// Nowhere: summaries are not even built.
    None,
    /// Called with each end, in batches, inside `scope` if given.
    Callback {
        on_end: OnEnd,
        scope: Option<OnEndScope>,
    },
    /// Told when ends wait; the binding takes them (`take`).
    Pull(OnEndsReady),
}

#[derive(Default)]
struct Queue {
    ends: VecDeque<SessionEnd>,
    /// `Pull`: told, and not everything taken since.
    told: bool,
}

pub(crate) struct Ends {
    sink: Sink,
    max: usize,
    queue: Mutex<Queue>,
    /// Signalled with `queue` when ends are pushed or the deliverer stops.
    ready: Condvar,
    /// The thread delivering now, if any: one at a time keeps the order.
    turn: Mutex<Option<ThreadId>>,
    turn_free: Condvar,
    /// The deliverer thread should stop.
    stopped: AtomicBool,
    dropped: AtomicU64,
}

/// Holds the turn to deliver; lets it go when dropped.
struct Turn<'a>(&'a Ends);

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        *self.0.turn.lock() = None;
        self.0.turn_free.notify_all();
    }
}

impl Ends {
    pub fn new(config: &Config) -> Self {
        let sink = match (&config.on_end, &config.on_ends_ready) {
            (Some(on_end), _) => Sink::Callback {
                on_end: on_end.clone(),
                scope: config.on_end_scope.clone(),
            },
            (None, Some(ready)) => Sink::Pull(ready.clone()),
            (None, None) => Sink::None,
        };
        Ends {
            sink,
            max: config.max_pending_ends,
            queue: Mutex::default(),
            ready: Condvar::new(),
            turn: Mutex::new(None),
            turn_free: Condvar::new(),
            stopped: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
        }
    }

    /// Whether anyone listens; when not, summaries are not even built.
    pub fn wanted(&self) -> bool {
        !matches!(self.sink, Sink::None)
    }

    /// Whether a thread should call back: there is an `on_end`.
    pub fn has_callback(&self) -> bool {
        matches!(self.sink, Sink::Callback { .. })
    }

    /// Ends waiting now.
    pub fn pending(&self) -> usize {
        self.queue.lock().ends.len()
    }

    /// Ends dropped so far: the queue was full, or `close` ran out of time.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Queues ends, dropping the oldest past the bound.
    pub fn push(&self, ends: Vec<SessionEnd>) {
        if ends.is_empty() || !self.wanted() {
            return;
        }
        let mut dropped = 0;
        let tell = {
            let mut queue = self.queue.lock();
            // The deliverer thread waits only for an empty queue: waking
            // it otherwise would cost a system call a push for nothing.
            if queue.ends.is_empty() && self.has_callback() {
                self.ready.notify_one();
            }
            for end in ends {
                if queue.ends.len() >= self.max {
                    queue.ends.pop_front();
                    dropped += 1;
                }
                queue.ends.push_back(end);
            }
            !std::mem::replace(&mut queue.told, true)
        };
        if dropped > 0 {
            self.dropped.fetch_add(dropped, Ordering::Relaxed);
        }
        if let (Sink::Pull(ready), true) = (&self.sink, tell) {
            ready();
        }
    }

    /// Up to `max` of the pending ends, oldest first, for a binding that
    /// delivers them itself (`on_ends_ready`).
    pub fn take(&self, max: usize) -> Vec<SessionEnd> {
        let mut queue = self.queue.lock();
        let n = max.min(queue.ends.len());
        let taken = queue.ends.drain(..n).collect();
        if queue.ends.is_empty() {
            queue.told = false;
        }
        taken
    }

    /// Calls back with every end pending now, in order; returns whether
    /// more were queued meanwhile. Returns at once (false) when called from
    /// inside a callback or while another thread delivers: that thread
    /// reports that more are pending.
    pub fn deliver(&self) -> bool {
        if !self.has_callback() {
            return false;
        }
        let Some(_turn) = self.try_turn() else {
            return false;
        };
        self.deliver_batch(|| false);
        self.pending() > 0
    }

    /// Delivers until nothing is pending, waiting for another deliverer to
    /// finish its batch first, until `deadline`; then drops what is still
    /// pending. Returns how many it dropped. From inside a callback it
    /// returns at once: the delivery in progress goes on with the rest.
    pub fn drain(&self, deadline: Instant) -> u64 {
        if !self.has_callback() {
            return 0;
        }
        let past = || Instant::now() >= deadline;
        loop {
            if self.pending() == 0 || self.holds_turn() {
                return 0;
            }
            match self.wait_turn(past) {
                Some(_turn) => {
                    self.deliver_batch(past);
                    if past() {
                        return self.drop_pending();
                    }
                }
                None => return self.drop_pending(),
            }
        }
    }

    /// The deliverer thread: delivers whenever ends are pending, until
    /// `stop`; a batch in progress stops after the callback running then,
    /// its rest going back to the front of the queue for `close`.
    pub fn run_deliverer(&self) {
        loop {
            {
                let mut queue = self.queue.lock();
                while queue.ends.is_empty() && !self.is_stopped() {
                    queue = self.ready.wait(queue);
                }
            }
            if self.is_stopped() {
                return;
            }
            if let Some(_turn) = self.wait_turn(|| self.is_stopped()) {
                self.deliver_batch(|| self.is_stopped());
            }
        }
    }

    /// Tells the deliverer thread to stop, and wakes it wherever it waits.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        let _queue = self.queue.lock();
        self.ready.notify_all();
        drop(_queue);
        let _turn = self.turn.lock();
        self.turn_free.notify_all();
    }

    fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    fn holds_turn(&self) -> bool {
        *self.turn.lock() == Some(thread::current().id())
    }

    /// The turn, if free now and this thread is not delivering already.
    fn try_turn(&self) -> Option<Turn<'_>> {
        let mut holder = self.turn.lock();
        if holder.is_some() {
            return None;
        }
        *holder = Some(thread::current().id());
        Some(Turn(self))
    }

    /// The turn, once free; `None` if `give_up` says so first (checked
    /// whenever the turn changes hands, and every 10 ms).
    fn wait_turn(&self, give_up: impl Fn() -> bool) -> Option<Turn<'_>> {
        let me = thread::current().id();
        let mut holder = self.turn.lock();
        loop {
            match *holder {
                None => {
                    *holder = Some(me);
                    return Some(Turn(self));
                }
                Some(other) if other == me => return None,
                Some(_) => {}
            }
            if give_up() {
                return None;
            }
            holder = self
                .turn_free
                .wait_for(holder, std::time::Duration::from_millis(10));
        }
    }

    /// Calls back with the ends pending now, oldest first, stopping early
    /// once `cut` says so (checked after each end): what a cut leaves goes
    /// back to the front of the queue. The ends are taken [`CHUNK`] at a
    /// time, so that those in the callback's hands add little to the
    /// queue's bound, however slow it is.
    fn deliver_batch(&self, cut: impl Fn() -> bool) {
        let Sink::Callback { on_end, scope } = &self.sink else {
            return;
        };
        let mut batch = Batch {
            held: VecDeque::new(),
            left: self.pending(),
            cut_short: false,
            finished: false,
        };
        if batch.left == 0 {
            return;
        }
        {
            let mut run = || batch.run(self, on_end, &cut);
            match scope {
                Some(scope) => {
                    let _ = catch_unwind(AssertUnwindSafe(|| scope(&mut run)));
                }
                None => run(),
            }
        }
        if batch.cut_short {
            self.put_back(batch.held.into_iter());
        } else if !batch.finished {
            // The scope failed before the batch was done: without it, then.
            batch.run(self, on_end, &cut);
        }
    }

    /// Ends taken but not delivered, back at the front, in order.
    fn put_back(&self, rest: impl DoubleEndedIterator<Item = SessionEnd>) {
        let mut dropped = 0;
        {
            let mut queue = self.queue.lock();
            for end in rest.rev() {
                if queue.ends.len() >= self.max {
                    // The oldest is the one being put back.
                    dropped += 1;
                    continue;
                }
                queue.ends.push_front(end);
            }
        }
        if dropped > 0 {
            self.dropped.fetch_add(dropped, Ordering::Relaxed);
        }
    }

    /// Drops every pending end, and counts `undelivered` more that the
    /// owner took but will not deliver; returns how many in all.
    pub fn discard(&self, undelivered: u64) -> u64 {
        self.dropped.fetch_add(undelivered, Ordering::Relaxed);
        undelivered + self.drop_pending()
    }

    /// Drops every pending end; returns how many.
    fn drop_pending(&self) -> u64 {
        let n = std::mem::take(&mut self.queue.lock().ends).len() as u64;
        self.dropped.fetch_add(n, Ordering::Relaxed);
        n
    }
}

/// Ends taken from the queue at a time by a delivery.
const CHUNK: usize = 256;

/// One delivery's progress, so that a delivery cut short, or whose scope
/// failed, knows what it holds and what is left.
struct Batch {
    /// Taken from the queue, not delivered yet.
    held: VecDeque<SessionEnd>,
    /// Still to take: the delivery takes the ends pending when it began.
    left: usize,
    cut_short: bool,
    finished: bool,
}

impl Batch {
    fn run(&mut self, ends: &Ends, on_end: &OnEnd, cut: &impl Fn() -> bool) {
        loop {
            while let Some(end) = self.held.pop_front() {
                call_back(on_end, end);
                if cut() {
                    self.cut_short = true;
                    return;
                }
            }
            if self.left == 0 {
                break;
            }
            let chunk = ends.take(self.left.min(CHUNK));
            if chunk.is_empty() {
                break;
            }
            self.left -= chunk.len();
            self.held.extend(chunk);
        }
        self.finished = true;
    }
}

/// Calls back with one end; a panic is reported and delivery goes on.
fn call_back(callback: &OnEnd, end: SessionEnd) {
    let id = end.session.id;
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| callback(end))) {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a non-string panic".to_owned());
        eprintln!("sojourn: the on_end callback panicked for session {id}: {message}");
    }
}
