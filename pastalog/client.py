"""The client: ``Log(server, model_name).write(series, value)``.

``write`` appends to columnar arrays in memory and returns (well under a
microsecond); one daemon thread batches them every ``flush_interval`` seconds (or
sooner, at ``batch_points`` points) and posts them to the server over one
keep-alive connection. A slow, dead or restarting server never blocks or raises
into the training loop: batches wait in memory, past ``max_memory_points`` in a
spool file on disk, and are sent in order when the server answers again; one
warning says so. Every batch carries an id, so a batch sent twice is stored once.

Only the caller's own mistakes raise, at once: an invalid name, a value that is not
a number. Standard library only (numpy is used for images only if you pass one).
"""
import atexit
import http.client
import itertools
import logging
import math
import operator
import os
import socket
import threading
import time
import urllib.parse
import uuid
import weakref
from array import array
from collections import deque

from . import _spool
from ._images import to_png
from .errors import InvalidValue
from .names import check_name
from .paths import spool_dir as default_spool_dir
from .wire import CONTENT_TYPE, encode_batch

__all__ = ["HTTPTransport", "Log"]

log = logging.getLogger("pastalog")

_MAX_STEP = 2**62
_MAX_REQUEST_POINTS = 200_000
_LIVE = weakref.WeakSet()
_now = time.time


def _server_url(server):
    if isinstance(server, bool) or not isinstance(server, (int, str)):
        raise TypeError(f"server must be a port number or a URL, got {server!r}")
    if isinstance(server, int) or server.isdigit():
        port = int(server)
        if not 0 < port < 65536:
            raise ValueError(f"server port must be within 1..65535, got {port}")
        return f"http://127.0.0.1:{port}"
    url = server if "://" in server else "http://" + server
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"server must be a port or an http(s) URL, got {server!r}")
    return url.rstrip("/")


def _as_float(value, series):
    if isinstance(value, (int, float)):  # includes bool and numpy's float64
        try:
            return float(value)
        except OverflowError:
            raise InvalidValue(f"value for {series!r} is too large for a float64: "
                               f"{str(value)[:40]}") from None
    item = getattr(value, "item", None)
    if item is not None:
        try:
            value = item()
        except (ValueError, TypeError, RuntimeError) as exc:
            raise InvalidValue(
                f"value for {series!r} must be a single number, got {type(value).__name__} "
                f"({exc})") from None
        if isinstance(value, (int, float)):
            return float(value)
    raise InvalidValue(f"value for {series!r} must be a real number, got "
                       f"{type(value).__name__} {str(value)[:40]!r}")


def _as_step(step):
    if isinstance(step, float) and step.is_integer():
        step = int(step)
    try:
        step = operator.index(step)
    except TypeError:
        raise InvalidValue(f"step must be an integer, got {type(step).__name__} "
                           f"{str(step)[:40]!r}") from None
    if isinstance(step, bool) or not -_MAX_STEP <= step <= _MAX_STEP:
        raise InvalidValue(f"step must be an integer within ±2**62, got {step!r}")
    return step


class _Series:
    # The arrays are never replaced (the sender copies and clears them), so their
    # bound append methods can be kept: write() saves three lookups a call.
    __slots__ = ("name", "next", "steps", "values", "times", "add_step", "add_value",
                 "add_time")

    def __init__(self, name):
        self.name = name
        self.next = 0
        self.steps = array("q")
        self.values = array("d")
        self.times = array("d")
        self.add_step = self.steps.append
        self.add_value = self.values.append
        self.add_time = self.times.append


class HTTPTransport:
    """Posts request bodies over one keep-alive HTTP connection.

    ``transport(path, body, content_type) -> (status, response_bytes)``; raises
    ``OSError`` when the server cannot be reached. ``TCP_NODELAY`` is set: without
    it Nagle's algorithm and delayed ACKs stall every request ~40 ms on loopback.
    """

    def __init__(self, base_url, *, token=None, timeout=30.0):
        parts = urllib.parse.urlsplit(base_url)
        self._cls = (http.client.HTTPSConnection if parts.scheme == "https"
                     else http.client.HTTPConnection)
        self._netloc = parts.netloc
        self._prefix = parts.path.rstrip("/")
        self._timeout = timeout
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._conn = None

    def __call__(self, path, body, content_type):
        try:
            if self._conn is None:
                self._conn = self._cls(self._netloc, timeout=self._timeout)
                self._conn.connect()
                self._conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            headers = {"Content-Type": content_type, **self._headers}
            self._conn.request("POST", self._prefix + path, body, headers)
            resp = self._conn.getresponse()
            return resp.status, resp.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            if isinstance(exc, OSError):
                raise
            raise ConnectionError(f"{type(exc).__name__}: {exc}") from exc

    def close(self):
        """Drop the connection (the next call reconnects)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class Log:
    """Log scalars and images of one model to a pastalog server.

    Parameters
    ----------
    server : int or str
        A port (``8120`` means ``http://127.0.0.1:8120``) or a URL.
    model_name : str
        The model (run) these points belong to.
    token : str, optional
        Bearer token for a server started with ``--token``; default
        ``$PASTALOG_TOKEN``.
    flush_interval : float
        Seconds between sends (default 0.05).
    batch_points : int
        Send sooner once this many points wait (default 10,000).
    max_memory_points : int
        Past this many unsent points, batches go to the spool file (default 1,000,000).
    spool_dir : str or False, optional
        Where to spool; default ``$PASTALOG_SPOOL`` or the user cache dir. ``False``
        keeps everything in memory.
    close_timeout : float
        How long ``close()`` (and interpreter exit) waits for delivery before it
        spools what is left for the next ``Log`` to send (default 10 s).
    transport : callable, optional
        ``transport(path, body, content_type) -> (status, bytes)``; default HTTP.

    Examples
    --------
    >>> log = Log(8120, "model_1", transport=lambda path, body, ctype: (200, b"{}"))
    >>> log.write("train_loss", 2.7)
    >>> log.write("train_loss", 2.5)
    >>> log.flush(timeout=5)
    True
    >>> log.close()
    """

    def __init__(self, server=8120, model_name="model", *, token=None, flush_interval=0.05,
                 batch_points=10_000, max_memory_points=1_000_000, spool_dir=None,
                 close_timeout=10.0, transport=None):
        self.server = _server_url(server)
        self.model_name = check_name(model_name, "model name")
        self.flush_interval = float(flush_interval)
        self.batch_points = int(batch_points)
        self.max_memory_points = int(max_memory_points)
        self.close_timeout = float(close_timeout)
        token = token if token is not None else os.environ.get("PASTALOG_TOKEN") or None
        self._transport = transport or HTTPTransport(self.server, token=token)
        if spool_dir is None:
            spool_dir = os.environ.get("PASTALOG_SPOOL") or default_spool_dir()
        self._spool_dir = (os.path.join(spool_dir, _label(self.server))
                           if spool_dir is not False else None)
        self._series = {}
        self._image_steps = {}
        self._images = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._done = threading.Condition(threading.Lock())
        self._wake_at = self.batch_points   # wake the sender at this many accepted
        self._accepted = 0          # ever accepted by write/image
        self._delivered = 0         # ever delivered (or given up on)
        self.dropped = 0            # points the server refused as invalid
        self._pending = deque()     # (path, body, content_type, n) in memory
        self._pending_points = 0
        self._replay = deque()      # spool files to send, oldest first:
                                    # [path, fd, records or None, ours?]
        self._spool = (_spool.Spool(self._spool_dir, self.model_name)
                       if self._spool_dir else None)
        self._problem = None        # the trouble of the current outage, if any
        self._warned = set()        # what was said during it: each problem once
        self._closing = False
        self.closed = False
        self._thread = threading.Thread(target=self._run, name=f"pastalog-{model_name[:20]}",
                                        daemon=True)
        self._thread.start()
        _LIVE.add(self)

    # -- the caller's side: only memory --------------------------------------------

    def write(self, series, value, step=None):
        """Log ``value`` of ``series`` at ``step`` (default: the series' last step + 1).

        Parameters
        ----------
        series : str
            Series name; ``/`` groups (``conv1/mean``).
        value : float, int, bool, numpy scalar or anything with ``.item()``
        step : int, optional
        """
        try:
            s = self._series[series]
        except (KeyError, TypeError):
            s = self._add_series(series)
        if value.__class__ is not float:
            value = _as_float(value, series)
        if step is None:
            step = s.next
        elif step.__class__ is not int or not -_MAX_STEP <= step <= _MAX_STEP:
            step = _as_step(step)
        s.next = step + 1
        with self._lock:
            s.add_step(step)
            s.add_value(value)
            s.add_time(_now())
            self._accepted += 1
        if self._accepted >= self._wake_at:
            self._wake.set()

    def post(self, series, value, step):
        """The original pastalog API: ``write(series, value, step)``."""
        self.write(series, value, step)

    def write_many(self, values, step=None):
        """Log several series at one step: ``write_many({"loss": 2.1, "acc": 0.4}, 10)``."""
        items = []
        for series, value in values.items():
            s = self._series.get(series) if isinstance(series, str) else None
            s = s or self._add_series(series)
            if value.__class__ is not float:
                value = _as_float(value, series)
            at = s.next if step is None else _as_step(step)
            s.next = at + 1
            items.append((s, at, value))
        t = _now()
        with self._lock:
            for s, at, value in items:
                s.add_step(at)
                s.add_value(value)
                s.add_time(t)
            self._accepted += len(items)
        if self._accepted >= self._wake_at:
            self._wake.set()

    def image(self, name, img, step=None):
        """Log an image (array, PIL image, matplotlib Figure, PNG bytes or a path).

        Arrays are HxW, HxWx3 or HxWx4, uint8 or float in [0, 1]. ``step`` defaults
        to the image name's last step + 1.
        """
        check_name(name, "image name")
        png = to_png(img)
        at = self._image_steps.get(name, 0) if step is None else _as_step(step)
        self._image_steps[name] = at + 1
        query = urllib.parse.urlencode({"model": self.model_name, "name": name, "step": at,
                                        "time": repr(_now()), "batch": uuid.uuid4().hex})
        with self._lock:
            self._images.append((f"/api/v1/images?{query}", png, "image/png", 1))
            self._accepted += 1
        self._wake.set()

    def _add_series(self, name):
        check_name(name)
        s = self._series[name] = _Series(name)
        return s

    def flush(self, timeout=None):
        """Send everything written so far; return whether it was all delivered in time."""
        if self.closed:
            return self._delivered >= self._accepted
        with self._done:
            target = self._accepted
            dropped = self.dropped
            self._wake.set()
            deadline = None if timeout is None else time.monotonic() + timeout
            while self._delivered < target:
                if not self._thread.is_alive():
                    return False
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._done.wait(left if left is None else min(left, 0.5))
                self._wake.set()
        return self.dropped == dropped

    def close(self, timeout=None):
        """Flush (up to ``close_timeout`` seconds), spool what is left, stop the sender."""
        if self.closed:
            return
        if timeout is None:
            # With the server already failing, waiting helps nobody: spool at once.
            timeout = 0.0 if self._problem else self.close_timeout
        delivered = self.flush(timeout)
        self._closing = True
        self._wake.set()
        self._thread.join(timeout=30)
        self.closed = True
        _LIVE.discard(self)
        if not delivered and self._accepted > self._delivered:
            left = self._accepted - self._delivered
            if self._spool_dir:
                log.warning("pastalog: %d points/images could not reach %s before close; "
                            "they wait in %s and the next pastalog.Log for this server "
                            "sends them", left, self.server, self._spool_dir)
            else:
                log.warning("pastalog: %d points/images could not be delivered to %s and "
                            "were lost (spooling is off)", left, self.server)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"Log({self.server!r}, {self.model_name!r})"

    # -- the sender thread ---------------------------------------------------------

    def _drain(self):
        """Swap out the write buffers; returns requests for what they held."""
        with self._lock:
            taken = []
            for s in self._series.values():
                if s.values:
                    taken.append((s.name, s.steps[:], s.values[:], s.times[:]))
                    del s.steps[:], s.values[:], s.times[:]
            images, self._images = self._images, []
            self._wake_at = self._accepted + self.batch_points
        requests = []
        batch, size = [], 0
        for name, steps, values, times in taken:
            for lo in range(0, len(values), _MAX_REQUEST_POINTS):
                hi = lo + _MAX_REQUEST_POINTS
                batch.append((self.model_name, name, steps[lo:hi], values[lo:hi], times[lo:hi]))
                size += len(batch[-1][2])
                if size >= _MAX_REQUEST_POINTS:
                    requests.append(self._points_request(batch, size))
                    batch, size = [], 0
        if batch:
            requests.append(self._points_request(batch, size))
        return requests + images

    @staticmethod
    def _points_request(batch, size):
        return ("/api/v1/points", encode_batch(uuid.uuid4().hex, batch), CONTENT_TYPE, size)

    def _run(self):
        try:
            self._loop()
        except BaseException:
            # A bug here must not pass silently: flush() stops waiting, close() warns.
            log.exception("pastalog: the sender thread for %s stopped on an error; points "
                          "written from now on are not sent", self.server)
            with self._done:
                self._done.notify_all()

    def _loop(self):
        if self._spool_dir:
            self._replay.extend([p, fd, None, False] for p, fd in _spool.orphans(self._spool_dir))
        backoff = 0.0
        while True:
            self._wake.wait(max(self.flush_interval, backoff))
            self._wake.clear()
            closing = self._closing
            for request in self._drain():
                self._enqueue(request)
            if self._pending_points > self.max_memory_points and self._spool:
                self._spool_pending()
            if closing:
                self._spool_pending()
                return
            if self._send_all():
                backoff = 0.0
            else:
                backoff = min(5.0, max(0.1, backoff * 2))

    def _enqueue(self, request):
        if self._spool and self._spool.records and self._to_spool(request):
            return
        self._pending.append(request)
        self._pending_points += request[3]

    def _to_spool(self, request):
        path, body, _, n = request
        try:
            self._spool.append(f"{n} {path}", body)
        except OSError as exc:
            self._warn(f"spool-{exc.errno}", "cannot write the spool file %s (%s); keeping "
                       "unsent points in memory", self._spool.path, exc.strerror)
            return False
        return True

    def _spool_pending(self):
        if not self._spool or not self._pending:
            return
        if not self._spool.records:
            self._warn("spooling", "%d points wait for %s; spooling them to %s",
                       self._pending_points, self.server, self._spool.path)
        while self._pending and self._to_spool(self._pending[0]):
            self._pending_points -= self._pending.popleft()[3]
        try:
            self._spool.sync()
        except OSError as exc:
            self._warn(f"spool-{exc.errno}", "cannot sync the spool file %s (%s)",
                       self._spool.path, exc.strerror)

    def _send_all(self):
        """Deliver replay files, then the spool, then memory; False on trouble."""
        while self._replay:
            if not self._send_replay(self._replay[0]):
                return False
            os.close(self._replay.popleft()[1])
        if self._spool and self._spool.records:
            path, fd = self._spool.take()
            self._replay.append([path, fd, None, True])
            return self._send_all()
        while self._pending:
            path, body, ctype, n = self._pending[0]
            if not self._send(path, body, ctype):
                return False
            self._pending.popleft()
            self._pending_points -= n
            self._mark_delivered(n)
        return True

    def _send_replay(self, entry):
        path, _, records, own = entry
        if records is None:
            records = entry[2] = deque(_spool.read_records(path))
        while records:
            head, body = records[0]
            count, _, req_path = head.partition(" ")
            ctype = "image/png" if req_path.startswith("/api/v1/images") else CONTENT_TYPE
            if not self._send(req_path, body, ctype):
                return False
            records.popleft()
            if own:
                self._mark_delivered(int(count))
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        return True

    def _send(self, path, body, ctype):
        try:
            status, reply = self._transport(path, body, ctype)
        except OSError as exc:
            self._warn("unreachable", "cannot reach %s (%s); keeping points and retrying",
                       self.server, exc.strerror or exc)
            return False
        if status == 200:
            if self._problem is not None:
                log.warning("pastalog: %s takes points again; nothing was lost", self.server)
                self._problem = None
                self._warned.clear()
            return True
        text = reply[:300].decode("utf-8", "replace")
        if status in (400, 413, 422):
            self.dropped += 1
            log.warning("pastalog: %s refused a batch (%d %s); dropped it", self.server,
                        status, text)
            return True
        self._warn(f"http-{status}", "%s answered %d (%s); keeping points and retrying",
                   self.server, status, text)
        return False

    def _mark_delivered(self, n):
        with self._done:
            self._delivered += n
            self._done.notify_all()

    def _warn(self, problem, message, *args):
        self._problem = problem
        if problem not in self._warned:
            self._warned.add(problem)
            log.warning("pastalog: " + message, *args)


def _label(url):
    parts = urllib.parse.urlsplit(url)
    return f"{parts.hostname}_{parts.port or 80}"


@atexit.register
def _close_all():
    for live in list(_LIVE):
        live.close()
