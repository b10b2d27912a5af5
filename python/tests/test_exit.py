"""Exiting the interpreter never aborts or hangs, with or without
`close()`: the package closes every open tracker at exit, before the
interpreter finalizes, delivering the ends still pending."""

from __future__ import annotations

from support import IN_CALLBACK, run_python


def test_exit_without_close_while_the_driver_runs() -> None:
    result = run_python(
        """
        import sojourn
        trackers = [
            sojourn.Tracker(unsigned_tokens=True, sweep_interval=0.001, idle_timeout=0.002, on_end=lambda e: None)
            for _ in range(5)
        ]
        for t in trackers:
            for _ in range(100):
                t.start()
        print("leaving", flush=True)
        """
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "leaving\n", "")


def test_exit_delivers_pending_ends() -> None:
    result = run_python(
        """
        import sojourn
        clock = sojourn.MockClock()
        t = sojourn.Tracker(
            unsigned_tokens=True,
            clock=clock, idle_timeout=60, sweep_interval=3600,
            on_end=lambda e: print("ended", e.reason, flush=True),
        )
        t.start()
        clock.advance(60)  # due, but no sweep comes before exit
        print("leaving", flush=True)
        """
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "leaving\nended idle\n", "")


def test_exit_while_a_callback_runs() -> None:
    result = run_python(IN_CALLBACK + 'print("leaving", flush=True)')
    assert (result.returncode, result.stdout, result.stderr) == (0, "leaving\ncallback done\n", "")


def test_exit_with_a_daemon_thread_still_tracking() -> None:
    """The thread, which raises and returns enums, is ended as it next runs
    Python code: never under a frame of the native module, where its end
    would abort the process."""
    result = run_python(
        """
        import threading, sojourn
        t = sojourn.Tracker(unsigned_tokens=True, sweep_interval=0.001, idle_timeout=0.005, on_end=lambda e: None)
        def spin():
            while True:
                s = t.start()
                try:
                    t.track(s.id, "view")
                except KeyError:
                    pass  # it may idle out (5 ms) in between
                t.resume(s.token)  # an Outcome
        threading.Thread(target=spin, daemon=True).start()
        threading.Event().wait(0.2)
        print("leaving", flush=True)
        """
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "leaving\n", "")


def test_exit_after_close_and_in_a_with_block() -> None:
    result = run_python(
        """
        import sys, sojourn
        closed = sojourn.Tracker(unsigned_tokens=True, sweep_interval=0.001, on_end=print)
        closed.close()
        with sojourn.Tracker(unsigned_tokens=True, sweep_interval=0.001, on_end=print) as t:
            t.start()
            sys.exit(3)
        """
    )
    assert (result.returncode, result.stdout, result.stderr) == (3, "", "")
