"""Workloads W1 and W2, generated once from fixed seeds and read by every
language's benchmark, so that all of them replay the same operations.

    python3 bench/workload.py bench/out/w1.bin [bench/out/w2.bin]

The file is little-endian and columnar, so that each language loads it in a
few calls and no parsing happens while the clock runs:

    magic    b"SJW1"
    u32      version (1)
    u32      prestart      sessions started before the clock runs
    u32      n_ops         operations timed
    u32      n_users       distinct user ids ("user-0" ...)
    u8[n_ops]      op      0 track view, 1 track event, 2 get, 3 start,
                           4 identify, 5 revive an unknown uuid4 id
    u32[n_ops]     target  for 0, 1, 2, 4: index of a session in start order
                           (the prestarted ones, then those started by op 3)
    u32[n_ops]     user    for 4: index of the user id
    u8[16 * n_revive]      the uuid4 ids of the revives, in op order

W2, the restart storm: after a restart that forgot every session, RETURNING
visitors come back with the ids their clients hold, each first request a
revive with the client's counter hints, then W1's mix runs on them. Every
operation is timed, the revives included. The file is W1's, with its own
magic and the returning visitors between the header and the ops:

    magic    b"SJW2"
    u32      version (1)
    u32      returning     visitors revived first, in this order
    u32      n_ops, u32 n_users                          as in W1
    u8[16 * returning]     their ids (uuid4)
    u32[returning]         view hints (1 to 30)
    u32[returning]         event hints (0 to 60)
    then op, target, user and the revive ids as in W1, a target being
    an index among the returning visitors, then the sessions started
"""

import random
import struct
import sys
import uuid
from array import array

SEED = 20260101
PRESTART = 100_000
N_OPS = 1_000_000
N_USERS = 10_000
RETURNING = 100_000
# W1's mix, in percent: track view, track event, get, start, identify, revive.
MIX = [(0, 60), (1, 20), (2, 10), (3, 5), (4, 4), (5, 1)]


def mix(rng, live):
    """W1's operations over `live` sessions to begin with."""
    table = [op for op, share in MIX for _ in range(share)]
    ops = array("B")
    target = array("I")
    user = array("I")
    revives = bytearray()
    for _ in range(N_OPS):
        op = table[rng.randrange(100)]
        ops.append(op)
        target.append(rng.randrange(live) if op in (0, 1, 2, 4) else 0)
        user.append(rng.randrange(N_USERS) if op == 4 else 0)
        if op == 3:
            live += 1
        elif op == 5:
            revives += uuid.UUID(int=rng.getrandbits(128), version=4).bytes
    if sys.byteorder != "little":
        target.byteswap()
        user.byteswap()
    return ops.tobytes() + target.tobytes() + user.tobytes() + bytes(revives)


def generate(path: str) -> None:
    rng = random.Random(SEED)
    with open(path, "wb") as f:
        f.write(b"SJW1" + struct.pack("<4I", 1, PRESTART, N_OPS, N_USERS))
        f.write(mix(rng, PRESTART))


def generate_w2(path: str) -> None:
    rng = random.Random(SEED + 2)
    ids = b"".join(uuid.UUID(int=rng.getrandbits(128), version=4).bytes for _ in range(RETURNING))
    views = array("I", (rng.randint(1, 30) for _ in range(RETURNING)))
    events = array("I", (rng.randint(0, 60) for _ in range(RETURNING)))
    if sys.byteorder != "little":
        views.byteswap()
        events.byteswap()
    with open(path, "wb") as f:
        f.write(b"SJW2" + struct.pack("<4I", 1, RETURNING, N_OPS, N_USERS))
        f.write(ids + views.tobytes() + events.tobytes())
        f.write(mix(rng, RETURNING))


if __name__ == "__main__":
    generate(sys.argv[1])
    if len(sys.argv) > 2:
        generate_w2(sys.argv[2])
