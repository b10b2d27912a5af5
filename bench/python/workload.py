"""Loads the W1 and W2 files written by bench/workload.py (formats described
there)."""

import struct
import uuid
from array import array
from dataclasses import dataclass, field
from typing import List, Tuple


@dataclass
class Workload:
    prestart: int
    ops: bytes
    target: array
    user: array
    users: List[str]
    revives: List[str]
    # W2 only: the returning visitors (ids, view hints, event hints), revived
    # first; `prestart` is then 0 and targets index into them.
    returning: List[Tuple[str, int, int]] = field(default_factory=list)


def load(path: str) -> Workload:
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] not in (b"SJW1", b"SJW2"):
        raise ValueError(f"{path}: not a W1 or W2 file")
    _, prestart, n, n_users = struct.unpack_from("<4I", data, 4)
    at = 20
    returning = []
    if data[:4] == b"SJW2":
        k = prestart
        raw = data[at : at + 16 * k]
        views = array("I", data[at + 16 * k : at + 20 * k])
        events = array("I", data[at + 20 * k : at + 24 * k])
        returning = [(str(uuid.UUID(bytes=raw[16 * i : 16 * i + 16])), views[i], events[i]) for i in range(k)]
        at += 24 * k
        prestart = 0
    ops = data[at : at + n]
    at += n
    target = array("I", data[at : at + 4 * n])
    at += 4 * n
    user = array("I", data[at : at + 4 * n])
    at += 4 * n
    n_revives = ops.count(5)
    raw = data[at : at + 16 * n_revives]
    revives = [str(uuid.UUID(bytes=raw[i : i + 16])) for i in range(0, len(raw), 16)]
    users = [f"user-{i}" for i in range(n_users)]
    return Workload(prestart, ops, target, user, users, revives, returning)
