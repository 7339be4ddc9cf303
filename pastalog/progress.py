"""A one-line progress bar on stderr, shown only on a terminal."""
import sys
import time

__all__ = ["Progress"]


class Progress:
    """``Progress("importing", total)``; ``update(done, note)``; ``finish()``."""

    def __init__(self, label, total, *, stream=None):
        self.label = label
        self.total = max(int(total), 1)
        self.stream = stream or sys.stderr
        self.enabled = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last = 0.0

    def update(self, done, note=""):
        """Redraw at most ten times a second."""
        now = time.monotonic()
        if not self.enabled or now - self._last < 0.1:
            return
        self._last = now
        frac = min(done / self.total, 1.0)
        bar = "█" * int(frac * 30) + "░" * (30 - int(frac * 30))
        self.stream.write(f"\r{self.label} {bar} {frac:6.1%} {note}\x1b[K")
        self.stream.flush()

    def finish(self):
        """Clear the bar's line."""
        if self.enabled:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
