"""Helpers for testing an application that uses sojourn.

:class:`FaultSwitch` makes a tracker whose store fails on demand, for
testing how an application handles :class:`sojourn.StoreError` (a store
that cannot be reached, as Redis may not be)::

    from sojourn.testing import FaultSwitch

    switch = FaultSwitch()
    tracker = sojourn.Tracker(secret=SECRET, fault_switch=switch)
    switch.fail(True)    # every call that reaches the store raises StoreError
    ...
    switch.fail(False)   # the store answers again, as it was

The tracker keeps its sessions in memory, as it does without a switch;
while the switch is on, every call that reads or writes them raises
``StoreError`` (code ``STORE_ERROR``, ``address`` ``"faulty://sojourn"``)
and changes nothing, and the first sweep that fails also warns
(``SojournWarning``, code ``STORE_ERROR``), once until the store answers
again. ``token(id)`` needs no store and still answers.

An internal hook, for tests: it is not a store to run with.
"""

from __future__ import annotations

from sojourn._native import FaultSwitch

__all__ = ["FaultSwitch"]
