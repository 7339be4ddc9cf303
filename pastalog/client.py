"""The client: ``Log(server, model_name).write(series, value)``.

``write`` appends to columnar arrays in memory and returns (0.17 µs median in
benchmarks/RESULTS.md, compiled; 0.81 µs in pure Python); one daemon thread posts them
to the server over one keep-alive connection, with group commit: a write that finds the sender idle wakes it at once
(live charts see the point in milliseconds), and points written while a request is in
flight gather into the next one (a hot loop makes few, large requests). That thread and connection belong to the server, not to one
``Log``: every ``Log`` to the same server with the same options shares them
(``_sender.py``), so a sweep of 100 runs in one process costs one thread. A slow, dead or restarting server never blocks or raises
into the training loop: batches wait in memory, past ``max_memory_points`` in a
spool file on disk, and are sent in order when the server answers again; one
warning says so. Every batch carries an id, so a batch sent twice is stored once.

Only the caller's own mistakes raise, at once: an invalid name, a value that is not
a number, a step beyond ±(2**53-1). Standard library only (numpy is used for images
only if you pass one).

Every request has a whole-request deadline (``request_timeout``), so a server that
answers one byte at a time cannot hold the sender; ``close()`` cuts off a request
still running at its own deadline and spools what is left. The sender thread
survives anything it meets: an unexpected error is counted (``sender_errors``),
said once, and the batch is retried. ``last_error`` says why delivery fails.

Signals: the first ``Log`` created in the main thread installs handlers for SIGTERM
and SIGINT (``handle_signals=False`` opts out). On either signal every live ``Log``
spools what it has not delivered, then the signal does what it did before: the
handler installed at that moment is called (Python's default for SIGINT raises
``KeyboardInterrupt``), or, for the default action, the default is restored and
the signal sent again, so the process still terminates by that signal. A handler
the program installs *after* its first ``Log`` replaces pastalog's; call
``log.close()`` in it to keep the points.

Runs: a ``Log`` is a run. Its config, tags and notes, what it captured of the process
(``_provenance.py``) and its status go to ``POST /api/v1/runs`` as run records, through
the same sender and in order with the points: "running" at the start and every
``HEARTBEAT_SECONDS`` from the sender thread (one request for every open Log),
"finished" from ``close()``, "crashed" with the exception's type and message when an
uncaught exception (``sys.excepthook``, ``threading.excepthook``, each chaining the
hook before it) preceded the close at exit. A server without runs (404) is warned
about once; points keep flowing.

Re-running under a used name: each ``Log`` is a session (``session``, uuid4 hex).
With ``resume=True`` (the default) its implicit steps are sent as the session's
counters and the server continues each series after its stored last step; an explicit
step makes that series absolute from that point on. ``resume=False`` sends implicit
steps as they are (from 0), which may interleave with an earlier run's points.
"""
import atexit
import logging
import operator
import os
import re
import sys
import threading
import time
import urllib.parse
import uuid
import weakref
from array import array
from typing import TYPE_CHECKING, Any, Literal

from . import _histogram, _sender, _signals
from ._config import check_config, check_notes, check_tags
from ._images import to_png
from ._sender import label
from ._transport import HTTPTransport
from .errors import InvalidValue, PastalogError
from .limits import MAX_CONFIG_KEYS, MAX_STEP
from .names import check_name
from .paths import spool_dir as default_spool_dir

# write()'s common case compiled (pastalog/_cwrite.c, built by pip when a C compiler is
# there); PASTALOG_PURE_PYTHON=1, or no compiled module, means the pure-Python write.
_cwrite: Any
try:
    if os.environ.get("PASTALOG_PURE_PYTHON"):
        raise ImportError("PASTALOG_PURE_PYTHON is set")
    from . import _cwrite
except ImportError:
    _cwrite = None

__all__ = ["HTTPTransport", "Log", "RunConfig"]

log = logging.getLogger("pastalog")

# What a header value cannot carry: control characters, line separators, lone surrogates.
_BAD_TOKEN = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_now = time.time
_OPEN: "weakref.WeakSet[Log]" = weakref.WeakSet()     # closed at exit
#: The uncaught exception seen by the hooks, if any: its runs close as "crashed".
_CRASH: dict = {}


def _install_crash_hooks():
    """Chain ``sys.excepthook`` and ``threading.excepthook`` once per process."""
    if _CRASH.get("installed"):
        return
    _CRASH["installed"] = True

    before, thread_before = sys.excepthook, threading.excepthook

    def hook(kind, exc, tb):
        _CRASH.setdefault("error", _error_of(kind, exc))
        before(kind, exc, tb)

    def thread_hook(args):
        if args.exc_type is not SystemExit:
            _CRASH.setdefault("error", _error_of(args.exc_type, args.exc_value))
        thread_before(args)

    sys.excepthook = hook
    threading.excepthook = thread_hook


def _error_of(kind, exc):
    try:
        message = str(exc)
    except Exception:  # noqa: BLE001 - a broken __str__ must not hide the crash
        message = "<unprintable>"
    return {"type": getattr(kind, "__name__", str(kind))[:256], "message": message[:4096]}


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
    if isinstance(step, bool):
        raise InvalidValue(f"step must be an integer, got bool {step!r}")
    if not -MAX_STEP <= step <= MAX_STEP:
        raise InvalidValue(f"step must be within ±(2**53-1) (±{MAX_STEP}), got {step!r}")
    return step


def _past_the_end(what, name):
    return InvalidValue(f"{what} {name!r} is at step 2**53-1 ({MAX_STEP}), the largest step; "
                        "give the next step explicitly")


def _step_of(steps, what, name, step):
    """``step`` checked, or (``None``) the step after ``steps[name]``'s last, from 0."""
    if step is None:
        at = steps.get(name, 0)
        if at > MAX_STEP:
            raise _past_the_end(what, name)
        return at
    return _as_step(step)


def _check_token(token):
    if not isinstance(token, str):
        raise TypeError(f"token must be a string, got {type(token).__name__}")
    bad = _BAD_TOKEN.search(token)
    if bad:
        raise ValueError(f"token must not contain control characters or line breaks, got "
                         f"{bad.group()!r} at position {bad.start()} (a newline read from a "
                         "file? strip it)")
    if token != token.strip():
        raise ValueError("token must not start or end with spaces (HTTP drops them, so the "
                         "server would never match it)")
    return token


class _Buf(array):
    """A series' write buffer: float64 (step, value, time) triples."""
    __slots__ = ()

    def take(self, n):
        """Remove the first ``n`` doubles and return them as bytes."""
        chunk = self[:n].tobytes()
        del self[:n]                 # writers only append: nothing of theirs goes
        return chunk


class _PySeries:
    # One flat float64 buffer of (step, value, time) triples. write() adds a point with
    # one C call (``put``, the array's extend), which neither another thread nor a
    # signal handler can split: no lock, and no half-written point to trim. Steps
    # within ±(2**53-1) are exact as float64. The sender takes whole triples from the
    # front (``buf.take``: writers only ever append at the end).
    # ``relative``: the buffered steps are the session's implicit counters; an explicit
    # step ends that (``split``: the point where the absolute ones begin).
    # _cwrite.Series is the same in C, for the compiled write.
    __slots__ = ("name", "next", "buf", "put", "relative", "split")

    def __init__(self, name, relative=False):
        self.name = name
        self.relative = relative
        self.split = None
        self.next = 0
        self.buf = _Buf("d")
        self.put = self.buf.extend


_Series = _PySeries if _cwrite is None else _cwrite.Series


class RunConfig(dict):
    """A run's config: a dict whose changes are sent to the server (flattened).

    ``update(...)`` and ``config[key] = value`` check at once (``InvalidValue`` naming
    the key, nothing sent) and send the change with the next request. Nested dicts are
    flattened with ``/``.

    Examples
    --------
    >>> log = Log(8120, "m", config={"opt": {"lr": 0.1}},
    ...           transport=lambda path, body, ctype: (200, b"{}"))
    >>> log.config.update(epochs=3)
    >>> dict(log.config)
    {'opt/lr': 0.1, 'epochs': 3}
    >>> log.close()
    """

    def __init__(self, log_, initial=None):
        super().__init__(initial or {})
        self._log = log_

    def update(self, *args, **kwargs):
        """Merge keys (a dict, pairs or keywords) and send them."""
        change = {}
        for arg in args:
            change.update(arg)
        change.update(kwargs)
        flat = check_config(change)
        merged = len(set(self) | set(flat))
        if merged > MAX_CONFIG_KEYS:
            raise InvalidValue(f"the run's config would hold {merged:,} keys, over the "
                               f"limit of {MAX_CONFIG_KEYS:,}")
        super().update(flat)
        self._log._run_record(config=flat)

    def __setitem__(self, key, value):
        self.update({key: value})

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]


class _PyWriter:
    """``Log.write`` in pure Python: the whole of it without the compiled module, and
    every case but the common one (a known series, a float or int value, an implicit
    or int step) with it (``_cwrite.configure``)."""

    _series: dict
    _wake_len: int
    _wake: Any
    _lock: Any
    resume: bool

    def write(self, series: str, value: float, step: "int | None" = None) -> None:
        """Log ``value`` of ``series`` at ``step`` (default: the series' last step + 1).

        Parameters
        ----------
        series : str
            Series name; ``/`` groups (``conv1/mean``).
        value : float, int, bool, numpy scalar or anything with ``.item()``
        step : int, optional
            Within ±(2**53-1).

        Raises
        ------
        InvalidName, InvalidValue
            At once, for a bad name, value or step; nothing is logged then.

        Examples
        --------
        >>> log = Log(8120, "m", transport=lambda path, body, ctype: (200, b"{}"))
        >>> log.write("loss", 2.5)
        >>> log.write("loss", "2.5")
        Traceback (most recent call last):
        ...
        pastalog.errors.InvalidValue: value for 'loss' must be a real number, got str '2.5'
        >>> log.close()
        """
        try:
            s = self._series[series]
        except (KeyError, TypeError):
            s = self._add_series(series)
        if value.__class__ is not float:
            value = _as_float(value, series)
        if step is None:
            step = s.next
            if step > MAX_STEP:
                raise _past_the_end("series", series)
        else:
            if step.__class__ is not int or not -MAX_STEP <= step <= MAX_STEP:
                step = _as_step(step)
            if s.relative:
                self._absolute(s)
        s.next = step + 1
        s.put((step, value, _now()))
        if len(s.buf) >= self._wake_len:
            self._wake.set()

    def _add_series(self, name):
        check_name(name)
        # Under the lock: the sender iterates self._series while it drains. write()
        # looks series up without it (a dict read is safe while another thread
        # inserts), so only a new series pays for the lock.
        with self._lock:
            s = self._series.get(name)
            if s is None:
                s = self._series[name] = _Series(name, self.resume)
        return s

    def _absolute(self, s):
        """Series ``s`` got an explicit step: its points are absolute from here on."""
        with self._lock:
            if s.relative:
                s.relative = False
                s.split = len(s.buf) // 3


if _cwrite is not None:
    _cwrite.configure(_PyWriter.write)
if TYPE_CHECKING or _cwrite is None:
    _WriterBase = _PyWriter
else:
    class _WriterBase(_cwrite.Writer, _PyWriter):
        """The compiled write first; the rest of _PyWriter behind it."""


class Log(_WriterBase):
    """Log scalars and images of one model to a pastalog server.

    Parameters
    ----------
    server : int or str
        A port (``8120`` means ``http://127.0.0.1:8120``) or a URL.
    model_name : str
        The model (run) these points belong to.
    token : str, optional
        Bearer token for a server started with ``--token``; default
        ``$PASTALOG_TOKEN``. Any Unicode without control characters; sent UTF-8
        encoded (as curl sends it).
    flush_interval : float
        How often the sender looks for points anyway (default 0.05 s). Sends do not
        wait for it: a write finding the sender idle wakes it at once, and points
        written while a request is in flight go in the next request (group commit).
    batch_points : int
        Wake the sender early once this many points wait while a request is in
        flight (default 10,000).
    max_memory_points : int
        Past this many unsent points, batches go to the spool file (default 1,000,000).
    spool_dir : str, path or False, optional
        Where to spool; default ``$PASTALOG_SPOOL`` or the user cache dir. ``False``
        keeps everything in memory, as does a directory that cannot be used (one
        warning says so).
    close_timeout : float
        How long ``close()`` (and interpreter exit) waits for delivery before it
        spools what is left for the next ``Log`` to send (default 10 s).
    request_timeout : float
        Seconds one request may take in all, connecting, sending and reading the whole
        answer (default 30 s); then it is retried.
    handle_signals : bool
        Spool unsent points on SIGTERM and SIGINT before the signal takes its course
        (default True; see the module's docstring for how handlers are chained).
    config : dict, optional
        The run's configuration (nested dicts flattened with ``/``); later changes
        through ``log.config``. Values: numbers, strings, booleans, None, lists of
        those; a non-finite float is sent as "NaN", "Infinity" or "-Infinity".
    tags : list of str, optional
        Up to 100 tags of 1 to 128 characters.
    notes : str, optional
        Free text, up to 65,536 characters.
    capture : bool
        Record host, pid, versions, argv, cwd and git commit/dirty (default True;
        gathered on the sender thread).
    resume : bool
        Continue each series after its stored last step when the name was used before
        (default True); False starts implicit steps at 0, which may interleave.
    transport : callable, optional
        ``transport(path, body, content_type) -> (status, bytes)``; default HTTP.

    Attributes
    ----------
    last_error : str or None
        Why the last delivery failed (a refused token, an unreachable server, a
        timeout); ``None`` before any trouble and again once the server takes points.
    dropped : int
        Batches the server refused as invalid (400, 413, 422) and that were dropped.
    sender_errors : int
        Unexpected errors the sender thread met and survived.

    Examples
    --------
    >>> log = Log(8120, "model_1", transport=lambda path, body, ctype: (200, b"{}"))
    >>> log.write("train_loss", 2.7)
    >>> log.write("train_loss", 2.5)
    >>> log.flush(timeout=5)
    True
    >>> log.last_error is None
    True
    >>> log.close()
    """

    def __init__(self, server: "int | str" = 8120, model_name: str = "model", *,
                 token: "str | None" = None, flush_interval: float = 0.05,
                 batch_points: int = 10_000, max_memory_points: int = 1_000_000,
                 spool_dir: "str | os.PathLike[str] | Literal[False] | None" = None, close_timeout: float = 10.0,
                 request_timeout: float = 30.0, handle_signals: bool = True,
                 transport: Any = None, config: "dict[str, Any] | None" = None,
                 tags: "list[str] | None" = None, notes: "str | None" = None,
                 capture: bool = True, resume: bool = True) -> None:
        self.server = _server_url(server)
        self.model_name = check_name(model_name, "model name")
        first: "dict[str, Any]" = {"status": "running"}
        if config is not None:
            first["config"] = check_config(config)
        if tags is not None:
            first["tags"] = check_tags(tags)
        if notes is not None:
            first["notes"] = check_notes(notes)
        if capture:
            first["provenance"] = True      # gathered by the sender thread
        self.session = uuid.uuid4().hex
        self.resume = bool(resume)
        self.config = RunConfig(self, first.get("config"))
        self._records: list = []
        # run records are counted apart from points (the warnings count points)
        self._records_accepted = self._records_delivered = 0
        self.flush_interval = float(flush_interval)
        self.batch_points = int(batch_points)
        self.max_memory_points = int(max_memory_points)
        self.close_timeout = float(close_timeout)
        self.request_timeout = float(request_timeout)
        token = token if token is not None else os.environ.get("PASTALOG_TOKEN") or None
        if token is not None:
            _check_token(token)
        if spool_dir is None:
            spool_dir = os.environ.get("PASTALOG_SPOOL") or default_spool_dir()
        self._spool_dir = (None if spool_dir is False
                           else os.path.join(os.fspath(spool_dir), label(self.server)))
        self._series: dict = {}
        self._image_steps: dict = {}
        self._images: list = []
        self._hists = _histogram.Pending()      # (name, step, time, Histogram)
        self._hist_steps: dict = {}
        self._lock = threading.Lock()       # images, histograms, run records, new series
        # A write wakes the sender when its series' buffer reaches this length (3 per
        # point): the first point while the sender is idle, batch_points while busy.
        self._wake_len = 3
        self._points_taken = 0      # points the sender took from the buffers, ever
        self._others = 0            # images and histograms accepted, ever
        self._delivered = 0         # ever delivered (or given up on)
        self.dropped = 0            # batches the server refused as invalid
        self.closed = False
        # One sender (thread, connection, spool) per server and options, shared by
        # every Log with the same ones: a sweep of 100 runs costs one thread.
        key = (self.server, token, self.request_timeout, self._spool_dir,
               None if transport is None else id(transport), self.flush_interval,
               self.max_memory_points)
        self._run_record(**first)
        self._sender = _sender.attach(self, key, lambda: _sender.Sender(
            key, self.server,
            transport or HTTPTransport(self.server, token=token, timeout=self.request_timeout),
            flush_interval=self.flush_interval, max_memory_points=self.max_memory_points,
            request_timeout=self.request_timeout, spool_dir=self._spool_dir,
            spool_label=self.model_name, has_token=bool(token)))
        self._wake = self._sender.wake
        self._done = self._sender.done
        _OPEN.add(self)
        _install_crash_hooks()
        if handle_signals:
            _signals.install()

    @property
    def last_error(self) -> "str | None":
        """Why the last delivery to this server failed, or None (see the class docstring)."""
        return self._sender.last_error

    @property
    def sender_errors(self) -> int:
        """Unexpected errors the (shared) sender thread met and survived."""
        return self._sender.sender_errors

    @property
    def _thread(self):
        return self._sender.thread

    # -- the caller's side: only memory --------------------------------------------

    def post(self, series: str, value: float, step: int) -> None:
        """The original pastalog API: ``write(series, value, step)``."""
        self.write(series, value, step)

    def write_many(self, values: "dict[str, float]", step: "int | None" = None) -> None:
        """Log several series at one step, all of them or (on a bad entry) none.

        Parameters
        ----------
        values : dict
            ``{series: value}``.
        step : int, optional
            One step for all; default: each series' last step + 1.

        Examples
        --------
        >>> log = Log(8120, "m", transport=lambda path, body, ctype: (200, b"{}"))
        >>> log.write_many({"loss": 2.1, "acc": 0.4}, step=10)
        >>> log.write_many({"loss": 2.0, "acc": "high"})
        Traceback (most recent call last):
        ...
        pastalog.errors.InvalidValue: value for 'acc' must be a real number, got str 'high'
        >>> log.close()
        """
        if step is not None and (step.__class__ is not int or not -MAX_STEP <= step <= MAX_STEP):
            step = _as_step(step)
        items = []
        for series, value in values.items():       # validate every entry first ...
            s = self._series.get(series) if isinstance(series, str) else None
            if s is None:
                s = self._add_series(series)
            if value.__class__ is not float:
                value = _as_float(value, series)
            at = s.next if step is None else step
            if at > MAX_STEP:
                raise _past_the_end("series", series)
            items.append((s, at, value))
        if step is not None:
            for s, _, _ in items:
                if s.relative:
                    self._absolute(s)
        t = _now()
        wake = False
        for s, at, value in items:                  # ... then commit them all
            s.put((at, value, t))
            s.next = at + 1
            wake = wake or len(s.buf) >= self._wake_len
        if wake:
            self._wake.set()

    def image(self, name: str, img: Any, step: "int | None" = None) -> None:
        """Log an image (array, PIL image, matplotlib Figure, PNG bytes or a path).

        Arrays are HxW, HxWx3 or HxWx4, uint8 or float in [0, 1]. ``step`` defaults
        to the image name's last step + 1.

        Examples
        --------
        >>> log = Log(8120, "m", transport=lambda path, body, ctype: (200, b"{}"))
        >>> log.image("digits", "samples.png", step=3)  # doctest: +SKIP
        >>> log.close()
        """
        check_name(name, "image name")
        at = _step_of(self._image_steps, "image name", name, step)
        png = to_png(img)
        self._image_steps[name] = at + 1
        query = urllib.parse.urlencode({"model": self.model_name, "name": name, "step": at,
                                        "time": repr(_now()), "batch": uuid.uuid4().hex})
        with self._lock:
            self._images.append((f"/api/v1/images?{query}", png, "image/png"))
            self._others += 1
        self._wake.set()

    def histogram(self, name: str, values: Any, step: "int | None" = None,
                  bins: int = 64) -> None:
        """Log the distribution of ``values`` as one histogram record of ``name``.

        The caller's thread checks and copies the values (about 0.1 ms for 1,000,000
        float32); the sender thread bins them (see :mod:`pastalog._histogram`).

        Parameters
        ----------
        name : str
            Histogram name; ``/`` groups (``conv1/W``).
        values : list, numpy array, tensor or :class:`pastalog.Histogram`
            Any shape. Exact count, min, max, sum and sum of squares of the finite
            values are kept; NaN, +inf and -inf are counted apart. Empty or all-NaN
            values give a record with count 0 and no bins.
        step : int, optional
            Default: the name's last step + 1, from 0.
        bins : int
            Equal-width bins over [min, max] of the finite values (1 to 10,000; one
            bin for a constant array). Ignored for a ``Histogram``, which has its own.

        Raises
        ------
        InvalidName, InvalidValue
            At once: a bad name or step, values that are not numbers or are ragged.

        Examples
        --------
        >>> log = Log(8120, "m", transport=lambda path, body, ctype: (200, b"{}"))
        >>> log.histogram("w", [0.5, 1.5, 2.5], bins=2)
        >>> log.histogram("w", [[1, 2], [3]])
        Traceback (most recent call last):
        ...
        pastalog.errors.InvalidValue: values for histogram 'w' must be numbers of a regular shape (a list, numpy array or tensor); got a ragged or mixed list
        >>> log.close()
        """
        check_name(name, "histogram name")
        at = _step_of(self._hist_steps, "histogram", name, step)
        if not isinstance(values, _histogram.Histogram):
            values = _histogram.Histogram(values, bins, _pending=self._hists, _name=name)
        self._hist_steps[name] = at + 1
        with self._lock:
            self._others += 1
        self._hists.add((name, at, _now(), values))
        self._wake.set()

    @property
    def _accepted(self):
        """Points, images and histograms accepted, ever (exact: from the buffers)."""
        return (self._others + self._points_taken
                + sum(len(s.buf) for s in list(self._series.values())) // 3)

    def _run_record(self, **fields):
        """Queue a run record for the sender (in order with this Log's points)."""
        record = {"model": self.model_name, "session": self.session, "time": _now(),
                  **fields}
        with self._lock:
            self._records.append(record)
            self._records_accepted += 1
        if hasattr(self, "_wake"):
            self._wake.set()

    def flush(self, timeout: "float | None" = None, raise_on_error: bool = False) -> bool:
        """Send everything written so far; return whether it was all delivered in time.

        Parameters
        ----------
        timeout : float, optional
            Seconds to wait; default: until delivered.
        raise_on_error : bool
            Raise ``PastalogError`` (saying why, from ``last_error``) instead of
            returning False.

        Returns
        -------
        bool
            True when every point and image written before the call was delivered
            and none was refused as invalid.

        Examples
        --------
        >>> log = Log(8120, "m", token="wrong", spool_dir=False,
        ...           transport=lambda path, body, ctype: (401, b"bad token"))
        >>> log.write("loss", 2.5)
        >>> log.flush(timeout=1, raise_on_error=True)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        pastalog.errors.PastalogError: ... refused the token (401...
        >>> log.close(timeout=0)
        """
        ok = self._flush(timeout)
        if not ok and raise_on_error:
            if self._thread.is_alive() or self.closed:
                why = self.last_error or "not every point was delivered in time"
            else:
                why = "the sender thread stopped"
            raise PastalogError(f"flush to {self.server} failed: {why}")
        return ok

    def _flush(self, timeout):
        if self.closed:
            return self._delivered >= self._accepted
        with self._done:
            target, records = self._accepted, self._records_accepted
            dropped = self.dropped
            self._wake.set()
            deadline = None if timeout is None else time.monotonic() + timeout
            while self._delivered < target or self._records_delivered < records:
                if not self._thread.is_alive():
                    return False
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._done.wait(0.5 if left is None else min(left, 0.5))
                self._wake.set()
        return self.dropped == dropped

    def close(self, timeout: "float | None" = None) -> None:
        """Flush (up to ``timeout``, default ``close_timeout`` s), spool the rest, stop.

        A request still running at the deadline is cut off; what is left then goes
        to the spool file (as long as writing it takes, at most a few seconds). A
        warning says how many points were spooled, or lost when they could not be.
        The sender thread stops with the last open Log that shares it; closing one
        Log of many flushes (and, failing that, spools) its points and leaves the
        sender running for the others.
        """
        if self.closed:
            return
        error = _CRASH.get("error")
        self._run_record(status="crashed" if error else "finished",
                         **({"error": error} if error else {}))
        sender = self._sender
        if timeout is None:
            # With the server already failing, waiting helps nobody: spool at once.
            timeout = 0.0 if sender._problem else self.close_timeout
        deadline = time.monotonic() + timeout
        alone = sender.logs == [self]
        if alone:       # nobody else's request is cut off at our deadline
            sender.set_cutoff(deadline)
        delivered = self._flush(timeout)
        if not delivered and not alone and sender._spool is not None:
            sender.spool_all()      # others keep the sender: put ours on disk now
        last = _sender.detach(self)
        self.closed = True
        _OPEN.discard(self)
        if last:
            stopped = sender.shutdown(deadline)
        else:
            stopped = True
            if alone:       # someone attached meanwhile: their requests run uncut
                sender.set_cutoff(None)
        left = self._accepted - self._delivered
        if delivered or left <= 0:
            return
        if not stopped:
            log.warning("pastalog: %d points/images could not reach %s before close and the "
                        "sender is still busy; they are lost if the process exits now",
                        left, self.server)
            return
        in_memory = min(left, sender.in_memory() + self._buffered())
        spooled = left - in_memory
        if spooled:
            log.warning("pastalog: %d points/images could not reach %s before close; "
                        "they wait in %s and the next pastalog.Log for this server "
                        "sends them", spooled, self.server, self._spool_dir)
        if in_memory and not last:
            log.warning("pastalog: %d points/images could not reach %s before close; "
                        "they wait in memory for the sender the other open Logs share "
                        "(lost if the process exits before the server answers)",
                        in_memory, self.server)
        elif in_memory:
            log.warning("pastalog: %d points/images could not be delivered to %s and were "
                        "lost (%s)", in_memory, self.server,
                        "spooling is off" if sender._spool is None else
                        "the spool file could not be written")

    def _buffered(self):
        """Points and images written but not yet taken by the sender."""
        return (sum(len(s.buf) for s in list(self._series.values())) // 3
                + len(self._images) + len(self._hists))

    def _take(self, force, signalled):
        """The sender's side: swap out the write buffers; ``(series, images, records)``.

        ``series`` entries are ``(name, steps, values, times, relative)``; a series that
        got an explicit step since the last take comes as its relative part, then its
        absolute part.

        Points need no lock (see ``_Series``). Images and run records are under it;
        while a signal handler waits for the spool (on the main thread, which may hold
        the lock), they are taken without it after a short wait.
        """
        locked = self._lock.acquire(timeout=0.2 if force else 0.1)
        while not locked and not signalled():
            locked = self._lock.acquire(timeout=0.1)
        try:
            # While the request for these is in flight, later writes gather for the
            # next one; only a big batch wakes the sender early.
            self._wake_len = 3 * self.batch_points
            taken = []
            for s in list(self._series.values()):
                buf = s.buf
                n = len(buf)
                cut, s.split = s.split, None
                if not n:
                    continue
                chunk = array("d")
                chunk.frombytes(buf.take(n))
                steps = _int_steps(chunk[0::3])
                values, times = chunk[1::3], chunk[2::3]
                n //= 3
                self._points_taken += n
                if cut is None:
                    taken.append((s.name, steps, values, times, s.relative))
                    continue
                if cut:
                    taken.append((s.name, steps[:cut], values[:cut], times[:cut], True))
                if cut < n:
                    taken.append((s.name, steps[cut:], values[cut:], times[cut:], False))
            images, self._images = self._images, []
            records, self._records = self._records, []
        finally:
            if locked:
                self._lock.release()
        return taken, images, records

    def _idle(self):
        """The sender's side, all sent: True and the next write wakes it, or False if
        anything came in since the last ``_take`` (send it now)."""
        self._wake_len = 3      # first: a write from now on wakes the sender itself
        if not self._lock.acquire(timeout=0.05):    # a signal handler may hold it
            return False
        try:
            return not (self._images or self._records or len(self._hists)
                        or any(len(s.buf) for s in list(self._series.values())))
        finally:
            self._lock.release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"Log({self.server!r}, {self.model_name!r})"


def _int_steps(steps):
    """Float64 steps (exact integers) as ``array('q')``: numpy's conversion when the
    program has imported numpy (a training script has), else Python's."""
    np = sys.modules.get("numpy")
    if np is None or len(steps) < 64:
        return array("q", map(int, steps))
    return array("q", np.frombuffer(steps, dtype=np.float64).astype(np.int64).tobytes())


@atexit.register
def _close_all():
    for live in list(_OPEN):
        live.close()
