"""Work the web process does besides answering requests: relaying domain events."""

from __future__ import annotations

import asyncio
import logging

from .container import Container

log = logging.getLogger(__name__)


async def relay_events(container: Container, interval_s: float) -> None:
    """Publish pending outbox records to the stream every ``interval_s`` seconds, until cancelled.

    A failed round is logged and retried on the next tick: the outbox keeps
    every record until it is marked delivered, so nothing is lost meanwhile.
    """
    relay = container.async_relay()
    while True:
        try:
            await relay.drain()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("relaying domain events failed; retrying in %.1f s", interval_s)
        await asyncio.sleep(interval_s)
