"""`WriteTurns`: small writes on the event loop take turns with everything else ready.

Without the turn a chain of waiting writes runs back to back (each release wakes the next
before the loop comes round), and a read's steps (its thread pool results) wait behind all of
them; with it, the loop goes round once between two writes.
"""

from __future__ import annotations

import asyncio

from api.mutations import WriteTurns


async def _interleaving() -> list[str]:
    turns = WriteTurns()
    log: list[str] = []
    done = asyncio.Event()

    async def writer() -> None:
        for _ in range(3):
            async with turns.turn():
                log.append("w")
            await asyncio.sleep(0)

    async def other() -> None:
        while not done.is_set():
            log.append("o")
            await asyncio.sleep(0)

    watcher = asyncio.ensure_future(other())
    await asyncio.gather(*(writer() for _ in range(6)))
    done.set()
    await watcher
    return log


def test_the_loop_goes_round_between_two_writes():
    log = asyncio.run(_interleaving())
    assert log.count("w") == 18
    first, last = log.index("w"), len(log) - 1 - log[::-1].index("w")
    writes = "".join(log[first:last + 1])
    assert "ww" not in writes, writes


def test_writes_keep_their_order_of_arrival():
    async def run() -> list[int]:
        turns = WriteTurns()
        order: list[int] = []

        async def writer(n: int) -> None:
            async with turns.turn():
                order.append(n)

        await asyncio.gather(*(writer(n) for n in range(8)))
        return order

    assert asyncio.run(run()) == list(range(8))


def test_one_write_turns_serves_one_loop_after_another():
    """An app outlives an event loop in tests and embeddings: the turns follow the loop."""
    turns = WriteTurns()

    async def contend() -> int:
        done: list[int] = []

        async def writer(n: int) -> None:
            async with turns.turn():
                await asyncio.sleep(0)
                done.append(n)

        await asyncio.gather(*(writer(n) for n in range(4)))
        return len(done)

    assert asyncio.run(contend()) == 4
    assert asyncio.run(contend()) == 4
