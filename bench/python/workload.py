"""Loads the W1 file written by bench/workload.py (format described there)."""

import struct
import uuid
from array import array
from dataclasses import dataclass
from typing import List


@dataclass
class Workload:
    prestart: int
    ops: bytes
    target: array
    user: array
    users: List[str]
    revives: List[str]


def load(path: str) -> Workload:
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"SJW1":
        raise ValueError(f"{path}: not a W1 file")
    _, prestart, n, n_users = struct.unpack_from("<4I", data, 4)
    at = 20
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
    return Workload(prestart, ops, target, user, users, revives)
