"""The route groups; each module's ``register(app, ctx)`` adds its routes to an app.

=========  ===========================================================
pages      ``/``, ``/static/...``
admin      ``/healthz``, ``/api/v1/session``, the deletes
ingest     ``POST /data``, ``POST /api/v1/points``
read       models, series, buckets
images     image upload, listing, blobs
histograms histogram upload, thinned reading, delete
live       ``/ws``
=========  ===========================================================
"""
from dataclasses import dataclass
from typing import Any, Callable, Optional

__all__ = ["Context", "GROUPS"]

GROUPS = ("pages", "admin", "ingest", "read", "images", "histograms", "live")


def _direct(fn: Callable, *args: Any) -> Any:
    return fn(*args)


@dataclass
class Context:
    """What the routes share: the store, the hub and the settings of one app."""

    store: Any
    hub: Any = None
    max_body: int = 64 * 2**20
    writer: Callable = _direct
    reader: Callable = _direct
    guard: Any = None

    def write(self, fn: Callable, *args: Any) -> Any:
        """Run a store write on the app's writer (one thread at a time)."""
        return self.writer(fn, *args)

    def read(self, fn: Callable, *args: Any) -> Any:
        """Run a store read off the event loop (the server's read threads)."""
        return self.reader(fn, *args)

    def publish(self, events: list) -> None:
        """Send live events to the hub's subscribers (nothing without a hub)."""
        if self.hub is not None and events:
            self.hub.publish(events)

    @property
    def token(self) -> Optional[str]:
        return self.guard.token if self.guard is not None else None
