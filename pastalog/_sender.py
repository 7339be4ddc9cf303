"""The client's sender: one daemon thread and one connection per server.

Every ``Log`` to the same server (with the same token, transport and sending options)
shares one ``Sender``: a sweep of 100 runs in one process costs one thread and one
keep-alive connection, not 100. The sender takes each Log's write buffers
(``Log._take``), turns them into requests of at most 200,000 points (one request may
carry the points of several Logs), sends them in order through the transport, spools
them to disk past the memory bound or on a signal, and replays spool files (its own
and those of dead processes) first. Each request remembers which Logs' points it
carries (``owners``), so each Log's ``flush()`` learns when its own points arrived.

Run records (``Log._run_record``) go as ``POST /api/v1/runs`` after the points taken
with them, so "finished" lands after a Log's last point; the sender adds a "running"
heartbeat for every open Log each ``HEARTBEAT_SECONDS`` (``$PASTALOG_HEARTBEAT_SECONDS``
for tests) and fills in the provenance a Log asked for (``_provenance.capture``). Points
of relative series carry their Log's session, so a request holds one session's
relative series at most. A server older than runs is told apart by its answers (404 to
runs, a 400 naming the 3-element series header): run records stop, with one warning,
and batches go without session.

``attach(log, key, make)`` finds or starts the sender for ``key``; ``detach(log)``
says whether that Log was the last one, after which the sender spools what is left
and stops (``shutdown``). The caller's side (``write``, validation, ``flush``,
``close``) stays in ``client.py``.
"""
import errno
import json
import logging
import os
import signal
import threading
import time
import urllib.parse
import uuid
from collections import deque

from . import _provenance, _signals, _spool
from .limits import BACKOFF_MAX, BACKOFF_MIN, HEARTBEAT_SECONDS
from .wire import CONTENT_TYPE, encode_batch, encode_histograms, strip_session

__all__ = ["SPOOL_GRACE", "Sender", "Wake", "attach", "detach", "label"]

log = logging.getLogger("pastalog")

_MAX_REQUEST_POINTS = 200_000
# While busy (points came in during the last request) requests start at least this far
# apart: a hot loop then makes at most 200 requests a second even when the server (or
# a test's transport) answers at once, and the writing thread is not slowed by a
# sender draining its buffers nonstop. An idle sender sends at once.
_BUSY_GAP = 0.005
SPOOL_GRACE = 5.0           # how long close() and a signal wait for the spool to be written
RUNS_PATH = "/api/v1/runs"
_JSON = "application/json"
# what a server older than sessions says about a 4-element series header
_OLD_BATCH = b'count]"'
_DISK_FULL = frozenset(getattr(errno, name) for name in ("ENOSPC", "EDQUOT", "EFBIG")
                       if hasattr(errno, name))


class Wake:
    """An auto-clearing event on one plain lock, released to wake the sender.

    ``set()`` is a single C call, so a signal handler that runs on the main thread
    between two bytecodes can never find it half done; ``threading.Event`` holds
    an internal lock in ``set()``, which a handler's own ``set()`` (or the sender
    waking up) would then wait for while the handler waits for the sender.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._lock.acquire()            # held: not set

    def set(self):
        if self._lock.locked():
            try:
                self._lock.release()
            except RuntimeError:        # another thread set it first
                pass

    def clear(self):
        self._lock.acquire(blocking=False)

    def wait(self, timeout):
        """Wait until set (and clear it) or ``timeout`` seconds; whether it was set."""
        return self._lock.acquire(timeout=timeout)


_SENDERS: dict = {}         # key -> the Sender every Log with that key shares
_REGISTRY = threading.Lock()


def attach(log_, key, make):
    """The running sender for ``key`` (made by ``make()`` if none), with ``log_`` on it."""
    with _REGISTRY:
        sender = _SENDERS.get(key)
        if sender is None or sender.closing or not sender.thread.is_alive():
            sender = _SENDERS[key] = make()
            sender.start()
        sender.logs.append(log_)
    return sender


def detach(log_):
    """Take ``log_`` off its sender; True when it was the last Log on it."""
    sender = log_._sender
    with _REGISTRY:
        if len(sender.logs) > 1 or log_ not in sender.logs:
            if log_ in sender.logs:
                sender.logs.remove(log_)
            return False
        # The last one stays on the sender for its final drain (see shutdown).
        if _SENDERS.get(sender.key) is sender:
            del _SENDERS[sender.key]
        sender.closing = True
        return True


class _Records:
    """An owner of run records in a request: its Log's records are counted apart."""

    __slots__ = ("log",)

    def __init__(self, log_):
        self.log = log_

    def delivered(self, n):
        self.log._records_delivered += n


class Sender:
    """Sends the points of every Log that shares it; see the module's docstring."""

    def __init__(self, key, server, transport, *, flush_interval, max_memory_points,
                 request_timeout, spool_dir, spool_label, has_token):
        self.key = key
        self.server = server
        self.logs: list = []            # the Logs using this sender (under _REGISTRY)
        self.flush_interval = flush_interval
        self.max_memory_points = max_memory_points
        self.request_timeout = request_timeout
        self._has_token = has_token
        self._transport = transport
        self._spool_dir = spool_dir
        self.wake = Wake()
        # Reentrant: a signal handler may run while the main thread holds it in flush().
        self.done = threading.Condition(threading.RLock())
        self.sender_errors = 0      # unexpected errors the sender survived
        self.last_error = None
        self._pending: deque = deque()  # (path, body, content_type, n, owners) in memory
        self._pending_points = 0
        self._replay: deque = deque()   # spool files to send, oldest first:
                                    # [path, fd, records or None, owners or None (not ours)]
        self._spool = _spool.Spool(spool_dir, spool_label) if spool_dir else None
        self._spool_owners: deque = deque()     # the owners of each record in self._spool
        self._problem = None        # the trouble of the current outage, if any
        self._warned: set = set()   # what was said during it: each problem once
        self._spool_asked = 0       # spool-everything-now requests (signals, close) ...
        self._spool_done = 0        # ... and how many the sender has carried out
        self.closing = False
        self.runs_unsupported = False   # the server answered 404 to run records
        self.old_batches = False        # ... and refuses the session in batches
        self.heartbeat = float(os.environ.get("PASTALOG_HEARTBEAT_SECONDS")
                               or HEARTBEAT_SECONDS)
        self._next_beat = time.monotonic() + self.heartbeat
        self.thread = threading.Thread(target=self._run, daemon=True,
                                       name=f"pastalog-sender-{label(server)}")

    def start(self):
        self.thread.start()
        _signals.LIVE.add(self)

    def set_cutoff(self, when):
        if hasattr(self._transport, "cutoff"):
            self._transport.cutoff = when

    def undelivered(self):
        """Points and images accepted by the Logs on this sender and not yet delivered."""
        return sum(lg._accepted - lg._delivered for lg in list(self.logs))

    def in_memory(self):
        """Points and images held in memory: buffered in Logs or waiting to be sent."""
        return self._pending_points + sum(lg._buffered() for lg in list(self.logs))

    def shutdown(self, deadline):
        """Stop (after detach said last): spool what is left, join, release the files."""
        self.set_cutoff(time.monotonic())
        self.wake.set()
        self.thread.join(max(0.0, deadline - time.monotonic()) + SPOOL_GRACE)
        stopped = not self.thread.is_alive()
        _signals.LIVE.discard(self)
        if stopped:
            self._release_files()
            with _REGISTRY:
                self.logs.clear()
        return stopped

    def _release_files(self):
        """Close spool files (releasing their locks) once the sender has stopped."""
        while self._replay:
            try:
                os.close(self._replay.popleft()[1])
            except OSError:
                pass
        if self._spool is not None:
            self._spool.close()

    def spool_all(self, timeout=SPOOL_GRACE):
        """Have the sender spool every unsent point now; False if it did not in time."""
        with self.done:
            self._spool_asked += 1
            ticket = self._spool_asked
        self.set_cutoff(time.monotonic())
        self.wake.set()
        deadline = time.monotonic() + timeout
        with self.done:
            while (self._spool_done < ticket and self.thread.is_alive()
                   and time.monotonic() < deadline):
                self.done.wait(0.05)
        if not self.closing:
            self.set_cutoff(None)
        return self._spool_done >= ticket

    def _spool_now(self, why, timeout=SPOOL_GRACE):
        """A signal: spool every unsent point of every Log on this sender; say so."""
        left = self.undelivered()
        if left <= 0:
            return
        if self._spool is None or not self.thread.is_alive():
            log.warning("pastalog: %s: %d points/images not yet delivered to %s are lost (%s)",
                        why, left, self.server,
                        "spooling is off" if self._spool is None else "the sender stopped")
            return
        self.spool_all(timeout)
        left = self.undelivered()
        in_memory = min(left, self.in_memory())
        if left - in_memory:
            log.warning("pastalog: %s: %d points/images not yet delivered to %s are spooled "
                        "to %s; they are sent once the server answers, by this process or "
                        "the next pastalog.Log for this server", why, left - in_memory,
                        self.server, self._spool_dir)
        if in_memory:
            log.warning("pastalog: %s: %d points/images could not be spooled in time and "
                        "are lost if the process exits now", why, in_memory)

    # -- the sender thread ---------------------------------------------------------

    def _drain(self, force=False):
        """Take every Log's write buffers; returns requests for what they held."""
        requests, records, record_owners = [], [], {}
        batch, size, owners, session = [], 0, {}, None
        beat = time.monotonic() >= self._next_beat and not self.runs_unsupported
        if beat:
            self._next_beat = time.monotonic() + self.heartbeat
        for lg in list(self.logs):
            if beat and not lg.closed:
                lg._run_record(status="running")
            taken, images, mine = lg._take(force, self._signalled)
            model = lg.model_name
            for name, steps, values, times, relative in taken:
                relative = relative and not self.old_batches
                if relative and session not in (None, lg.session) and batch:
                    requests.append(self._points_request(batch, size, owners, session))
                    batch, size, owners, session = [], 0, {}, None
                if relative:
                    session = lg.session
                for lo in range(0, len(values), _MAX_REQUEST_POINTS):
                    hi = lo + _MAX_REQUEST_POINTS
                    batch.append((model, name, steps[lo:hi], values[lo:hi], times[lo:hi],
                                  relative))
                    n = len(batch[-1][2])
                    size += n
                    owners[lg] = owners.get(lg, 0) + n
                    if size >= _MAX_REQUEST_POINTS:
                        requests.append(self._points_request(batch, size, owners, session))
                        batch, size, owners = [], 0, {}
                        session = lg.session if relative else None
            requests.extend((path, png, ctype, 1, ((lg, 1),))
                            for path, png, ctype in images)
            requests.extend(histogram_requests(lg, lg._hists.take()))
            if mine:
                records.extend(mine)
                record_owners[lg] = record_owners.get(lg, 0) + len(mine)
        if batch:
            requests.append(self._points_request(batch, size, owners, session))
        if records:
            requests.append(self._runs_request(records, record_owners))
        return requests


    def _runs_request(self, records, owners):
        """One ``POST /api/v1/runs`` for run records (dropped once the server has none).

        A record still to capture its provenance (``git status`` may take a while) gets
        its body when the request is sent or spooled, after the points drained with it:
        the first points of a run never wait for it.
        """
        if self.runs_unsupported:
            records = []

        def body():
            for record in records:
                if record.get("provenance") is True:
                    try:
                        record["provenance"] = _provenance.capture(record["time"])
                    except Exception as exc:   # noqa: BLE001 - must never stop points
                        record["provenance"] = None
                        self._say("provenance", "could not capture the run's provenance "
                                  "(%s: %s)", type(exc).__name__, exc)
            return json.dumps({"runs": records}, ensure_ascii=False, allow_nan=False).encode()

        lazy = any(record.get("provenance") is True for record in records)
        return (RUNS_PATH, body if lazy else body(), _JSON, 0,
                tuple((_Records(lg), n) for lg, n in owners.items()))

    def _signalled(self):
        return self._spool_asked > self._spool_done

    @staticmethod
    def _points_request(batch, size, owners, session=None):
        return ("/api/v1/points", encode_batch(uuid.uuid4().hex, batch, session), CONTENT_TYPE,
                size, tuple(owners.items()))

    def _run(self):
        # SIGTERM and SIGINT are the main thread's: blocked here, the kernel never hands
        # them to this thread, where they would not interrupt the main thread's sleep
        # (seen while this thread ran `git status` for the provenance)
        if hasattr(signal, "pthread_sigmask"):
            try:
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
            except (OSError, ValueError):
                pass
        try:
            self._loop()
        except BaseException:
            # A bug here must not pass silently: flush() stops waiting, close() warns.
            log.exception("pastalog: the sender thread for %s stopped on an error; points "
                          "written from now on are not sent", self.server)
            with self.done:
                self.done.notify_all()

    def _loop(self):
        self._adopt_orphans()
        backoff = 0.0
        more, began = False, 0.0
        while True:
            if not more:
                self.wake.wait(max(self.flush_interval, backoff))
            else:
                # Busy: what came in while the last request was in flight goes now, but
                # no sooner than _BUSY_GAP after that request began (or a big batch).
                gap = began + _BUSY_GAP - time.monotonic()
                if gap > 0:
                    self.wake.wait(gap)
            self.wake.clear()
            began = time.monotonic()
            closing, asked = self.closing, self._spool_asked
            spool_all = closing or asked > self._spool_done
            try:
                for request in self._drain(force=spool_all and not closing):
                    self._enqueue(request)
                if spool_all or self._pending_points > self.max_memory_points:
                    self._spool_pending()
                ok = spool_all or self._send_all()
            except Exception as exc:    # a bug or a surprise: count it, say it, go on
                ok = False
                self._unexpected(exc)
            if spool_all:
                with self.done:
                    self._spool_done = asked
                    self.done.notify_all()
            if closing:
                return
            backoff = 0.0 if ok else min(BACKOFF_MAX, max(BACKOFF_MIN, backoff * 2))
            # Group commit: all sent, so send what came in meanwhile at once, or have the
            # next write wake us. (Failing, we wait out the backoff instead.)
            more = ok and not spool_all and not all([lg._idle() for lg in list(self.logs)])

    def _adopt_orphans(self):
        if not self._spool:
            return
        try:
            found = _spool.orphans(self._spool_dir)
        except OSError as exc:
            self._spool_off(exc)
            return
        self._replay.extend([p, fd, None, False] for p, fd in found)

    def _spool_off(self, exc):
        """The spool directory cannot be used: go on without a spool."""
        log.warning("pastalog: cannot use the spool directory %s (%s: %s); spooling is off, "
                    "unsent points stay in memory", self._spool_dir, type(exc).__name__,
                    exc.strerror or exc)
        spool, self._spool = self._spool, None
        if spool is not None and spool.records:
            owners, self._spool_owners = self._spool_owners, deque()
            self._replay.append([*spool.take(), None, owners])

    def _enqueue(self, request):
        if self._spool and self._spool.records and self._to_spool(request):
            return
        self._pending.append(request)
        self._pending_points += request[3]

    def _to_spool(self, request):
        path, body, _, n, owners = request
        if callable(body):          # a runs request's body is made when it leaves
            body = body()
        try:
            self._spool.append(f"{n} {path}", body)
        except OSError as exc:
            if exc.errno not in _DISK_FULL:
                self._spool_off(exc)
                return False
            if f"spool-{exc.errno}" not in self._warned:
                self._warned.add(f"spool-{exc.errno}")
                log.warning("pastalog: cannot write the spool file %s (%s); the partial record "
                            "was cut off and unsent points stay in memory", self._spool.path,
                            exc.strerror)
            return False
        self._spool_owners.append(owners)
        return True

    def _spool_pending(self):
        if not self._spool or not self._pending:
            return
        if not self._spool.records:
            if self._pending_points:
                self._say("spooling", "%d points wait for %s; spooling them to %s",
                          self._pending_points, self.server, self._spool.path)
            else:
                self._say("spooling", "run records (status, config) wait for %s; spooling "
                          "them to %s", self.server, self._spool.path)
        while self._spool and self._pending and self._to_spool(self._pending[0]):
            self._pending_points -= self._pending.popleft()[3]
        try:
            if self._spool:
                self._spool.sync()
        except OSError as exc:
            self._say(f"spool-sync-{exc.errno}", "cannot sync the spool file %s (%s)",
                      self._spool.path, exc.strerror)

    def _send_all(self):
        """Deliver replay files, then the spool, then memory; False on trouble."""
        while self._replay:
            if not self._send_replay(self._replay[0]):
                return False
            os.close(self._replay.popleft()[1])
        if self._spool and self._spool.records:
            path, fd = self._spool.take()
            owners, self._spool_owners = self._spool_owners, deque()
            self._replay.append([path, fd, None, owners])
            return self._send_all()
        while self._pending:
            path, body, ctype, n, owners = self._pending[0]
            if callable(body):      # a runs request's body is made when it leaves
                body = body()
                self._pending[0] = (path, body, ctype, n, owners)
            if not self._send(path, body, ctype, owners):
                return False
            self._pending.popleft()
            self._pending_points -= n
            self._mark_delivered(owners)
        return True

    def _send_replay(self, entry):
        path, _, records, owners = entry
        if records is None:
            records = entry[2] = deque(_spool.read_records(path))
        while records:
            head, body = records[0]
            req_path = head.partition(" ")[2]
            ctype = ("image/png" if req_path.startswith("/api/v1/images") else
                     _JSON if req_path == RUNS_PATH else CONTENT_TYPE)
            if not self._send(req_path, body, ctype, owners[0] if owners else ()):
                return False
            records.popleft()
            if owners:      # our own spool: these Logs' points arrived
                self._mark_delivered(owners.popleft())
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        return True

    def _send(self, path, body, ctype, owners):
        if path == RUNS_PATH and self.runs_unsupported:
            return True
        try:
            status, reply = self._transport(path, body, ctype)
            if status == 400 and _OLD_BATCH in reply[:300] and ctype == CONTENT_TYPE:
                older = strip_session(body)     # a server older than runs
                if older is not None:
                    self.old_batches = True
                    self._runs_gone()
                    status, reply = self._transport(path, older, ctype)
        except TimeoutError as exc:
            self._fail("timeout", f"{self.server} timed out: no complete answer within "
                       f"{self.request_timeout:g}s",
                       "%s did not answer within %gs (%s); keeping points and retrying",
                       self.server, self.request_timeout, exc)
            return False
        except OSError as exc:
            reason = exc.strerror or str(exc) or type(exc).__name__
            self._fail("unreachable", f"cannot reach {self.server}: {reason}",
                       "cannot reach %s (%s); keeping points and retrying", self.server, reason)
            return False
        if status == 200:
            if self._problem is not None:
                log.warning("pastalog: %s takes points again; nothing was lost", self.server)
                self._problem = None
                self._warned.clear()
                self.last_error = None
            return True
        text = reply[:300].decode("utf-8", "replace")
        if path == RUNS_PATH and status in (404, 405):
            self._runs_gone()
            return True
        if path == HISTOGRAMS_PATH and status in (404, 405):    # a server older than them
            for lg, _ in owners:
                lg.dropped += 1
            self._say("no-histograms", "%s does not take histograms (answered %d: a server "
                      "older than them); dropping histograms, points are still sent",
                      self.server, status)
            return True
        if status in (400, 413, 422):
            for lg, _ in owners:
                getattr(lg, "log", lg).dropped += 1
            self.last_error = f"{self.server} refused a batch ({status}: {text[:100]})"
            log.warning("pastalog: %s refused a batch (%d %s); dropped it", self.server,
                        status, text)
            return True
        if status == 401:
            if self._has_token:
                short = f"{self.server} refused the token (401 Unauthorized)"
                hint = "check token= or $PASTALOG_TOKEN"
            else:
                short = f"{self.server} needs a token (401 Unauthorized)"
                hint = "pass token= or set $PASTALOG_TOKEN"
            self._fail("http-401", short, "%s; %s. Keeping points and retrying", short, hint)
            return False
        self._fail(f"http-{status}", f"{self.server} answered {status}: {text[:100]}",
                   "%s answered %d (%s); keeping points and retrying", self.server, status,
                   text)
        return False

    def _runs_gone(self):
        if not self.runs_unsupported:
            self.runs_unsupported = True
            log.warning("pastalog: %s does not take run records (config, tags, status: "
                        "an older pastalog server?); points are sent as before", self.server)

    def _unexpected(self, exc):
        self.sender_errors += 1
        name = type(exc).__name__
        self.last_error = f"unexpected {name}: {str(exc)[:200]}"
        self._problem = f"error-{name}"
        if self._problem not in self._warned:
            self._warned.add(self._problem)
            log.warning("pastalog: the sender for %s met an unexpected %s (%s); it keeps the "
                        "points and retries", self.server, name, exc, exc_info=exc)

    def _mark_delivered(self, owners):
        with self.done:
            for lg, n in owners:
                if isinstance(lg, _Records):
                    lg.delivered(n)
                else:
                    lg._delivered += n
            self.done.notify_all()

    def _fail(self, problem, short, message, *args):
        """A delivery failed: remember why, say it once per outage."""
        self.last_error = short
        self._problem = problem
        self._say(problem, message, *args)

    def _say(self, problem, message, *args):
        if problem not in self._warned:
            self._warned.add(problem)
            log.warning("pastalog: " + message, *args)


HISTOGRAMS_PATH = "/api/v1/histograms"
#: Histogram records per request at most.
_MAX_REQUEST_HISTOGRAMS = 1000


def histogram_requests(lg, items):
    """Requests for histograms ``(name, step, time, Histogram)`` of one Log, binned now."""
    out = []
    for lo in range(0, len(items), _MAX_REQUEST_HISTOGRAMS):
        part = items[lo:lo + _MAX_REQUEST_HISTOGRAMS]
        records = [{"model": lg.model_name, "name": name, "step": step, "time": when,
                    **hist.record()} for name, step, when, hist in part]
        out.append((HISTOGRAMS_PATH, encode_histograms(uuid.uuid4().hex, records),
                    CONTENT_TYPE, len(part), ((lg, len(part)),)))
    return out


def label(url):
    parts = urllib.parse.urlsplit(url)
    return f"{parts.hostname}_{parts.port or 80}"
