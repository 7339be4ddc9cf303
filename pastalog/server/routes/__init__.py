"""The route groups; each module's ``register(app, ctx)`` adds its routes to an app.

=========  ===========================================================
pages      ``/``, ``/static/...``
admin      ``/healthz``, ``/api/v1/session``, the deletes
ingest     ``POST /data``, ``POST /api/v1/points``
read       models, series, buckets
runs       run records, the runs listing, ``PATCH`` of tags and notes
images     image upload, listing, blobs
histograms histogram upload, thinned reading, delete
live       ``/ws``
=========  ===========================================================
"""
from dataclasses import dataclass
from typing import Any, Callable, Optional

from ...limits import RUN_STALE_SECONDS

__all__ = ["Context", "GROUPS"]

GROUPS = ("pages", "admin", "ingest", "read", "runs", "images", "histograms", "live")


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
    point_writer: Optional[Callable] = None
    guard: Any = None
    run_stale: float = RUN_STALE_SECONDS

    def write(self, fn: Callable, *args: Any) -> Any:
        """Run a store write on the app's writer (one thread at a time)."""
        return self.writer(fn, *args)

    def write_points(self, series: list, batch_id: Optional[str],
                     session: Optional[str]) -> Any:
        """``Store.write_points`` on the app's writer, grouped with the requests that
        wait with it when the server groups them (``groupwrite``)."""
        if self.point_writer is not None:
            return self.point_writer(series, batch_id, session)
        return self.write(self.store.write_points, series, batch_id, session)

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
