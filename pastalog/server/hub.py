"""Hub: fans freshly stored points and images out to subscribed websockets.

Every subscriber has a queue bounded in bytes (``max_queue_bytes``, 8 MiB by default)
and in messages. ``publish`` never waits: it drops events into each matching queue, and
a subscriber whose queue would grow past its bound (a browser that stopped reading) is
disconnected with close code 1013 so that it reconnects and re-fetches; it can never
hold up ingest or the other browsers, nor pin more than its bound of memory. A message
being sent counts until the socket took it. Each event is encoded to JSON once, however
many browsers get it; each subscriber's greenlet sends what is queued since its last
send as one JSON array (at most ``MAX_SEND_BYTES`` at a time), so bursts are batched.

What a browser sends is bounded too: :func:`bound_incoming` caps incoming messages
(the page sends almost nothing) and closes with 1009 on a bigger one, checking a frame's
announced length before reading its payload.
"""
import logging
import struct
import time
from collections import deque

import gevent
from gevent.queue import Full, Queue
from geventwebsocket.exceptions import ProtocolError, WebSocketError
from geventwebsocket.websocket import Header, WebSocket

from .jsonio import dumps

__all__ = ["Hub", "bound_incoming", "close_websocket"]

log = logging.getLogger("pastalog.hub")

#: Points per series up to which events carry the points; above, a "refresh".
INLINE_POINTS = 2000
#: At most one message per socket this often: under load, a send per ingest request
#: per browser costs more than the rest of the server put together. An idle socket
#: sends at once. (25 ms gave a live latency of 15 ms p50 / 30 ms p99 with a write
#: every ~5 ms; 8 ms gives 6.6 / 13.8 ms, and the 50-client, 20-browser load test is
#: no slower.)
MIN_SEND_INTERVAL = 0.008
#: What one websocket message holds at most (a single bigger event is sent alone; an
#: event holds at most INLINE_POINTS points of one series).
MAX_SEND_BYTES = 1 << 20
#: Incoming websocket messages (frames of one message together) at most this big.
MAX_INCOMING = 64 * 1024


class _Overflow(Exception):
    """Raised into a subscriber greenlet whose queue overflowed."""


class _Subscriber:
    __slots__ = ("ws", "model", "queue", "queued", "greenlet")

    def __init__(self, ws, model, size):
        self.ws = ws
        self.model = model
        self.queue = Queue(maxsize=size)
        self.queued = 0          # bytes queued or being sent
        self.greenlet = None


class Hub:
    """Websocket fan-out.

    Parameters
    ----------
    max_queue : int
        Messages a subscriber may have waiting before it is disconnected.
    max_queue_bytes : int
        Bytes a subscriber may have waiting (and being sent) before it is
        disconnected; one message bigger than this is still sent to a subscriber
        with nothing else waiting.

    Examples
    --------
    >>> hub = Hub(max_queue_bytes=8 * 2**20)
    >>> hub.subscribers, hub.dropped
    (0, 0)
    """

    def __init__(self, *, max_queue=512, max_queue_bytes=8 * 2**20):
        self.max_queue = max_queue
        self.max_queue_bytes = max_queue_bytes
        self._subs = set()
        self.dropped = 0

    @property
    def subscribers(self):
        """How many websockets are subscribed."""
        return len(self._subs)

    def wants(self, model):
        """Whether a subscriber would get an event of ``model`` (all-model ones do)."""
        return any(sub.model is None or sub.model == model for sub in self._subs)

    def serve(self, ws, model=None):
        """Pump events into ``ws`` until it closes (runs in the request's greenlet)."""
        sub = _Subscriber(ws, model, self.max_queue)
        sub.greenlet = gevent.getcurrent()
        self._subs.add(sub)
        reader = gevent.spawn(self._read_until_closed, sub)
        try:
            ws.send(dumps([{"type": "hello", "model": model}]).decode())
            last, sending, pending = 0.0, False, deque()
            while True:
                if not pending:
                    pending.extend(sub.queue.get())
                    wait = last + MIN_SEND_INTERVAL - time.monotonic()
                    if wait > 0:
                        gevent.sleep(wait)  # gather what else arrives meanwhile
                while not sub.queue.empty():
                    pending.extend(sub.queue.get_nowait())
                last = time.monotonic()
                # One message of at most MAX_SEND_BYTES (or one event): however much a
                # single write published, no subscriber joins more than that at a time.
                chunk = [pending.popleft()]
                size = len(chunk[0]) + 1
                while pending and size + len(pending[0]) < MAX_SEND_BYTES:
                    chunk.append(pending.popleft())
                    size += len(chunk[-1]) + 1
                payload = b"[" + b",".join(chunk) + b"]"
                del chunk
                sending = True
                _send_text(ws, payload)
                sending = False
                del payload
                sub.queued -= size
        except _Overflow:
            self.dropped += 1
            log.warning("a websocket fell %d messages or %d MiB behind; disconnected it",
                        self.max_queue, self.max_queue_bytes >> 20)
            if sending:  # cut off mid-frame: a close frame now would be garbage
                ws.closed = True
            else:
                with gevent.Timeout(1, False):
                    close_websocket(ws, 1013, "too far behind; reconnect")
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
        sizes = {}
        for sub in list(self._subs):
            mine = everything if sub.model is None else by_model.get(sub.model)
            if not mine:
                continue
            size = sizes.get(id(mine))
            if size is None:
                size = sizes[id(mine)] = _size(mine)
            if sub.queued and sub.queued + size > self.max_queue_bytes:
                self._drop(sub)
                continue
            try:
                sub.queue.put_nowait(mine)
            except Full:
                self._drop(sub)
                continue
            sub.queued += size

    def _drop(self, sub):
        self._subs.discard(sub)
        sub.queue = Queue()  # what it had waiting is garbage now
        sub.greenlet.kill(_Overflow, block=False)

    def close(self):
        """Disconnect every subscriber."""
        for sub in list(self._subs):
            sub.greenlet.kill(_Closed, block=False)


class _Closed(Exception):
    """Raised into a subscriber greenlet whose socket closed."""


def _size(texts):
    return sum(len(t) + 1 for t in texts)


def _is_disconnect(exc):
    return isinstance(exc, (_Closed, WebSocketError, OSError))


def _send_text(ws, payload):
    """Send UTF-8 ``payload`` bytes as one text frame, without copying it to str."""
    if ws.closed:
        raise WebSocketError("the websocket is closed")
    header = Header.encode_header(True, WebSocket.OPCODE_TEXT, b"", len(payload), 0)
    try:
        ws.raw_write(header)
        ws.raw_write(payload)
    except OSError as exc:
        raise WebSocketError(f"send failed: {exc}") from None


def close_websocket(ws, code, reason=""):
    """Send a close frame carrying ``code`` (gevent-websocket's ``close`` drops it).

    Examples
    --------
    >>> class Fake:
    ...     closed = False
    ...     def send_frame(self, payload, opcode):
    ...         self.sent = (payload, opcode)
    >>> ws = Fake(); close_websocket(ws, 1013, "behind"); ws.sent, ws.closed
    ((b'\\x03\\xf5behind', 8), True)
    """
    if ws.closed:
        return
    try:
        ws.send_frame(struct.pack("!H", code) + reason.encode()[:120], WebSocket.OPCODE_CLOSE)
    except (WebSocketError, OSError):
        pass  # it is going away anyway
    finally:
        ws.closed = True


class _TooBig(Exception):
    """An incoming websocket message over the cap."""


class _BoundedWebSocket(WebSocket):
    """gevent-websocket's ``WebSocket`` with incoming messages capped at ``max_message``.

    ``read_frame`` reads the frame header first (a few bytes) and refuses a frame whose
    announced length would take its message past the cap, before reading any payload.
    """

    __slots__ = ("max_message", "_message_bytes")

    def __init__(self, environ, stream, handler, max_message=MAX_INCOMING):
        super().__init__(environ, stream, handler)
        self.max_message = max_message
        self._message_bytes = 0

    def read_frame(self):
        header = Header.decode_header(self.stream)
        if header.flags:
            raise ProtocolError("reserved bits set")
        if header.opcode & 0x8:
            if header.length > 125:
                raise ProtocolError("control frame longer than 125 bytes")
        else:
            if header.opcode != self.OPCODE_CONTINUATION:
                self._message_bytes = 0
            self._message_bytes += header.length
            if self._message_bytes > self.max_message:
                raise _TooBig(self._message_bytes)
        if not header.length:
            return header, b""
        try:
            payload = self.raw_read(header.length)
        except OSError:
            payload = b""
        if len(payload) != header.length:
            raise WebSocketError("Unexpected EOF reading frame payload")
        if header.mask:
            payload = header.unmask_payload(payload)
        return header, payload

    def receive(self):
        try:
            return super().receive()
        except _TooBig as exc:
            log.warning("a websocket sent a message of %s bytes or more (the cap is %d); "
                        "closed it", exc.args[0], self.max_message)
            close_websocket(self, 1009, "message too big")
            return None


def bound_incoming(ws, max_message=MAX_INCOMING):
    """A websocket in place of ``ws`` (just upgraded) that caps what its peer sends."""
    bounded = _BoundedWebSocket(ws.environ, ws.stream, ws.handler, max_message)
    ws.closed = True  # the old object's __del__ must not send a close frame
    return bounded


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
