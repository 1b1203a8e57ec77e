"""``with`` for the servers this package starts: started on entry, stopped on exit."""

from __future__ import annotations

from typing import Self


class Started:
    """A server (or set of servers) that ``with`` starts and stops, whatever happens inside."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
