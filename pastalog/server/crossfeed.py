"""Live events from the other servers on the same database, into this server's hub.

A PostgreSQL store notifies what each write changed (``store.pg_events``: model,
series, the range of sequence numbers; an image's record; a histogram record's id).
:class:`CrossFeed` listens on its own connection, skips its own server's changes (the routes published those),
reads the points that this server's subscribers want (only when one wants that model)
and publishes them as the local writes are published: a ``points`` event with the
points, or a ``refresh`` when a write was too big to inline. A lost connection is
re-established by itself; changes committed meanwhile are not replayed (a page
re-fetches when it sees a gap in the sequence numbers).
"""
import logging

import gevent
import gevent.event

from .hub import INLINE_POINTS
from .routes.histograms import histogram_event
from .routes.images import blob_url
from .store import pg_events

__all__ = ["CrossFeed", "follow"]

log = logging.getLogger("pastalog.crossfeed")


def follow(store, hub):
    """Start a :class:`CrossFeed` for ``store`` when it shares its database, else ``None``."""
    if not hasattr(store, "read_arrivals"):
        return None
    return CrossFeed(store, hub).start()


class CrossFeed:
    """Follow the changes other servers make to ``store``; publish them to ``hub``.

    Parameters
    ----------
    store : PostgresStore
    hub : Hub
    retry : float
        Seconds between attempts to listen again after the connection failed.
    """

    def __init__(self, store, hub, *, retry=0.5):
        self.store = store
        self.hub = hub
        self.retry = retry
        self.listening = gevent.event.Event()
        self.received = 0
        self._greenlet = None
        self._conn = None

    def start(self):
        self._greenlet = gevent.spawn(self._run)
        return self

    def stop(self):
        if self._greenlet is not None:
            self._greenlet.kill(block=True, timeout=2)
        if self._conn is not None:
            self._conn.close()

    def _run(self):
        import psycopg

        warned = False
        while True:
            try:
                with psycopg.connect(self.store.url, autocommit=True,
                                     connect_timeout=5) as conn:
                    self._conn = conn
                    conn.execute(f"LISTEN {pg_events.CHANNEL}")
                    self.listening.set()
                    if warned:
                        log.warning("live events from other servers: listening again")
                    warned = False
                    for note in conn.notifies():
                        self.received += 1
                        self._handle(note.payload)
            except (psycopg.Error, OSError) as exc:
                self.listening.clear()
                if not warned:
                    log.warning("live events from other servers: lost the database (%s); "
                                "retrying every %g s", str(exc).strip().splitlines()[0]
                                if str(exc).strip() else type(exc).__name__, self.retry)
                    warned = True
                gevent.sleep(self.retry)

    def _handle(self, payload):
        try:
            doc = pg_events.decode(payload)
        except ValueError as exc:
            log.warning("ignored a notification: %s", exc)
            return
        if doc["o"] == self.store.origin:
            return
        events = []
        if "i" in doc:
            model, name, step, when, sha, width, height = doc["i"]
            if self.hub.wants(model):
                events.append({"type": "image", "model": model, "name": name, "step": step,
                               "time": when, "sha": sha, "width": width, "height": height,
                               "url": blob_url(sha)})
        if "h" in doc:
            events.extend(self._histogram(doc["h"]))
        for model, name, before, after in doc.get("p", ()):
            if not self.hub.wants(model):
                continue
            try:
                events.extend(self._points(model, name, before, after))
            except Exception as exc:   # a failed read must not stop the feed
                log.warning("could not read %r/%r for live events: %s", model, name, exc)
        if events:
            self.hub.publish(events)

    def _histogram(self, rid):
        try:
            found = self.store.histogram_by_id(rid)
        except Exception as exc:   # a failed read must not stop the feed
            log.warning("could not read histogram record %r for live events: %s", rid, exc)
            return []
        if found is None or not self.hub.wants(found[0]):
            return []
        return [histogram_event(*found)]

    def _points(self, model, name, before, after):
        if after - before <= INLINE_POINTS:
            got = self.store.read_arrivals(model, name, before, after)
            if got is None:
                return []
            steps, values, times = got
            return [{"type": "points", "model": model, "series": name, "seq": after,
                     "steps": steps, "values": values, "times": times}]
        stats = self.store.series_stats(model, name)
        if stats is None:
            return []
        return [{"type": "refresh", "model": model, "series": name, "seq": stats["seq"],
                 "count": stats["count"], "last_step": stats["last_step"],
                 "last_value": stats["last_value"]}]
