"""Hub: fans freshly stored points and images out to subscribed websockets.

Every subscriber has a bounded queue. ``publish`` never waits: it drops events into
each matching queue, and a subscriber whose queue is full (a browser that stopped
reading) is disconnected with close code 1013 so that it reconnects and re-fetches;
it can never hold up ingest or the other browsers. Each event is encoded to JSON once,
however many browsers get it; each subscriber's greenlet sends everything queued since
its last send as one JSON array, so bursts are batched.
"""
import logging
import time

import gevent
from gevent.queue import Full, Queue

from .jsonio import dumps

__all__ = ["Hub"]

log = logging.getLogger("pastalog.hub")

#: Points per series up to which events carry the points; above, a "refresh".
INLINE_POINTS = 2000
#: At most one message per socket this often: under load, a send per ingest request
#: per browser costs more than the rest of the server put together.
MIN_SEND_INTERVAL = 0.025


class _Overflow(Exception):
    """Raised into a subscriber greenlet whose queue overflowed."""


class _Subscriber:
    __slots__ = ("ws", "model", "queue", "greenlet")

    def __init__(self, ws, model, size):
        self.ws = ws
        self.model = model
        self.queue = Queue(maxsize=size)
        self.greenlet = None


class Hub:
    """Websocket fan-out.

    Parameters
    ----------
    max_queue : int
        Messages a subscriber may have waiting before it is disconnected.
    """

    def __init__(self, *, max_queue=512):
        self.max_queue = max_queue
        self._subs = set()
        self.dropped = 0

    @property
    def subscribers(self):
        """How many websockets are subscribed."""
        return len(self._subs)

    def serve(self, ws, model=None):
        """Pump events into ``ws`` until it closes (runs in the request's greenlet)."""
        sub = _Subscriber(ws, model, self.max_queue)
        sub.greenlet = gevent.getcurrent()
        self._subs.add(sub)
        reader = gevent.spawn(self._read_until_closed, sub)
        try:
            ws.send(dumps([{"type": "hello", "model": model}]).decode())
            last = 0.0
            while True:
                batch = [sub.queue.get()]
                wait = last + MIN_SEND_INTERVAL - time.monotonic()
                if wait > 0:
                    gevent.sleep(wait)  # gather what else arrives meanwhile
                last = time.monotonic()
                while not sub.queue.empty() and len(batch) < 256:
                    batch.append(sub.queue.get_nowait())
                # a str, so that gevent-websocket sends a text frame
                ws.send((b"[" + b",".join(t for texts in batch for t in texts) + b"]").decode())
        except _Overflow:
            self.dropped += 1
            log.warning("a websocket fell %d messages behind; disconnected it", self.max_queue)
            with gevent.Timeout(1, False):
                ws.close(1013, "too far behind; reconnect")
        except Exception as exc:  # the socket closed or broke: nothing more to send
            if not _is_disconnect(exc):
                raise
        finally:
            self._subs.discard(sub)
            reader.kill(block=False)

    def _read_until_closed(self, sub):
        try:
            while sub.ws.receive() is not None:
                pass
        except Exception as exc:
            if not _is_disconnect(exc):
                raise
        if sub in self._subs:
            sub.greenlet.kill(_Closed, block=False)

    def publish(self, events):
        """Queue ``events`` (dicts with a ``"model"`` key) for every matching subscriber."""
        if not events or not self._subs:
            return
        everything, by_model = [], {}
        for event in events:
            text = dumps(event)
            everything.append(text)
            by_model.setdefault(event["model"], []).append(text)
        for sub in list(self._subs):
            mine = everything if sub.model is None else by_model.get(sub.model)
            if not mine:
                continue
            try:
                sub.queue.put_nowait(mine)
            except Full:
                self._subs.discard(sub)
                sub.greenlet.kill(_Overflow, block=False)

    def close(self):
        """Disconnect every subscriber."""
        for sub in list(self._subs):
            sub.greenlet.kill(_Closed, block=False)


class _Closed(Exception):
    """Raised into a subscriber greenlet whose socket closed."""


def _is_disconnect(exc):
    from geventwebsocket.exceptions import WebSocketError

    return isinstance(exc, (_Closed, WebSocketError, OSError))


def point_events(written):
    """Hub events for what ``Store.write_points`` wrote."""
    events = []
    for model, name, steps, values, times, stats in written:
        if len(steps) <= INLINE_POINTS:
            events.append({"type": "points", "model": model, "series": name,
                           "seq": stats["seq"], "steps": steps, "values": values,
                           "times": times})
        else:
            events.append({"type": "refresh", "model": model, "series": name,
                           "seq": stats["seq"], "count": stats["count"], "last_step": stats["last_step"],
                           "last_value": stats["last_value"]})
    return events
