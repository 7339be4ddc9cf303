"""Signal chaining for the client: spool unsent points on SIGTERM and SIGINT.

The first ``Log`` created in the main thread installs handlers for SIGTERM and SIGINT
(``install()``). On either signal every live ``Log`` (``LIVE``) spools what it has not
delivered, then the signal does what it did before: the handler installed at that
moment is called (Python's default for SIGINT raises ``KeyboardInterrupt``), or, for
the default action, the default is restored and the signal sent again, so the process
still terminates by that signal.
"""
import logging
import os
import signal
import threading
import weakref

__all__ = ["LIVE", "install"]

log = logging.getLogger("pastalog")

LIVE: "weakref.WeakSet" = weakref.WeakSet()    # every Log not yet closed
_previous_handlers: dict = {}   # signal number -> what was installed before pastalog's handler
_signals_installed = False


def install():
    """Once, from the main thread: spool on SIGTERM and SIGINT, then chain."""
    global _signals_installed
    if _signals_installed or threading.current_thread() is not threading.main_thread():
        return
    _signals_installed = True
    for name in ("SIGTERM", "SIGINT"):
        signum = getattr(signal, name, None)
        if signum is None:
            continue
        previous = signal.getsignal(signum)
        if previous is None or previous == signal.SIG_IGN:
            continue    # installed outside Python (we could not chain it), or ignored
        try:
            signal.signal(signum, _on_signal)
        except (ValueError, OSError):
            continue
        _previous_handlers[signum] = previous


def _on_signal(signum, frame):
    name = signal.Signals(signum).name
    for live in list(LIVE):
        try:
            live._spool_now(name)
        except Exception:       # never let pastalog stop the signal taking its course
            log.exception("pastalog: %s: spooling for %s failed", name, live.server)
    previous = _previous_handlers.get(signum, signal.SIG_DFL)
    if callable(previous):
        return previous(signum, frame)
    # The default action (terminate): restore it and send the signal again, so the
    # process ends by this signal as it would have without pastalog.
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
