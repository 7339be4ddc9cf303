"""Callbacks for nolearn's ``NeuralNet``: log its training history to pastalog.

::

    from pastalog.nolearn import PastalogCallback

    cb = PastalogCallback(8120, "digits-net")
    net = NeuralNet(..., on_epoch_finished=[cb], on_batch_finished=[cb])

After every epoch the callback writes each number of the newest
``train_history_`` row (``train_loss``, ``valid_loss``, ``valid_accuracy``,
``dur``, custom scores; the ``*_best`` flags as 0/1) at step ``epoch``.  Called
after a batch (``on_batch_finished``) it writes ``batch/seconds``, the time the
batch took, at a running batch count.  Add-on visualizers from
:mod:`pastalog.lasagne_addons` can run every ``every`` epochs on a held-out
batch.

nolearn itself is never imported: the callback only reads the
``(nn, train_history)`` pair that nolearn calls it with.
"""
import numbers
import time
from typing import Any, Callable, Optional, Sequence

import numpy as np

__all__ = ["PastalogCallback"]


def _is_log(obj):
    return callable(getattr(obj, "write", None)) and callable(getattr(obj, "image", None))


class PastalogCallback:
    """Log a nolearn ``NeuralNet``'s history (and add-on pictures) to pastalog.

    Parameters
    ----------
    log_or_server : pastalog.Log or int or str
        A log to write to, or a server (port or URL) to open one on.
    model_name : str, optional
        The model's name when a server is given; by default
        ``nolearn-<date>-<time>``.  Ignored when a log is given.
    visualizers : sequence of callable, optional
        Functions from :mod:`pastalog.lasagne_addons` (or alike): called as
        ``v(X, y, step=epoch, log=log)`` when ``v.needs_labels`` is true, else
        ``v(X, step=epoch, log=log)``.
    X, y : array_like, optional
        The held-out batch the visualizers see (``y`` for those needing labels).
    every : int
        Run the visualizers every ``every`` epochs (and at the first).
    batch_series : str or None
        Series for the per-batch timing; None to log nothing per batch.

    Examples
    --------
    >>> class Recorder:
    ...     def __init__(self): self.points = []
    ...     def write(self, series, value, step=None): self.points.append((series, value, step))
    ...     def image(self, name, img, step=None): pass
    >>> r = Recorder()
    >>> cb = PastalogCallback(r)
    >>> row = {"epoch": 1, "train_loss": 0.5, "train_loss_best": np.bool_(True),
    ...        "valid_loss": 0.6, "dur": 1.25, "note": "text is skipped"}
    >>> cb(None, [row])
    >>> sorted(r.points)
    [('dur', 1.25, 1), ('train_loss', 0.5, 1), ('train_loss_best', 1.0, 1), ('valid_loss', 0.6, 1)]
    """

    def __init__(self, log_or_server: Any, model_name: Optional[str] = None, *,
                 visualizers: Sequence[Callable[..., Any]] = (), X: Any = None, y: Any = None,
                 every: int = 1, batch_series: Optional[str] = "batch/seconds") -> None:
        if _is_log(log_or_server):
            self.log = log_or_server
        elif isinstance(log_or_server, (int, str)) and not isinstance(log_or_server, bool):
            import pastalog

            if model_name is None:
                model_name = time.strftime("nolearn-%Y%m%d-%H%M%S")
            self.log = pastalog.Log(log_or_server, model_name)
        else:
            raise TypeError(
                "log_or_server must be a pastalog.Log, a port or a URL, not %r" % (log_or_server,)
            )
        if int(every) < 1:
            raise ValueError("every must be an integer >= 1, not %r" % (every,))
        self.visualizers = list(visualizers)
        for v in self.visualizers:
            if not callable(v):
                raise TypeError("visualizers must be callables, not %r" % (v,))
        needs_y = any(getattr(v, "needs_labels", False) for v in self.visualizers)
        if self.visualizers and X is None:
            raise ValueError("visualizers need a held-out batch: pass X= (and y=)")
        if needs_y and y is None:
            raise ValueError("a visualizer needs labels: pass y= with X=")
        self.X, self.y, self.every = X, y, int(every)
        self.batch_series = batch_series
        self.rows_logged = 0
        self.batches = 0
        self._last_tick: Optional[float] = None
        self._config_sent = False

    def _send_config(self, nn: Any) -> None:
        """Send the net's parameters (``get_params``), once, as the run's config."""
        self._config_sent = True
        config = getattr(self.log, "config", None)
        get_params = getattr(nn, "get_params", None)
        if config is None or get_params is None:
            return
        from ._config import lenient_config

        try:
            params = get_params(deep=False)
        except (TypeError, AttributeError, ValueError):
            return
        if isinstance(params, dict) and params:
            config.update(lenient_config(params))

    def __call__(self, nn: Any, train_history: "list[dict[str, Any]]") -> None:
        """Log any history rows not logged yet; without one, count a batch."""
        if len(train_history) > self.rows_logged:
            self.on_epoch_finished(nn, train_history)
        else:
            self.on_batch_finished(nn, train_history)

    def on_epoch_finished(self, nn: Any, train_history: "list[dict[str, Any]]") -> None:
        """Write the numbers of every new history row, then run the visualizers."""
        if not self._config_sent:
            self._send_config(nn)
        for index in range(self.rows_logged, len(train_history)):
            row = train_history[index]
            step = int(row.get("epoch", index + 1))
            values = {}
            for key, value in row.items():
                if key == "epoch":
                    continue
                number = _number(value)
                if number is not None:
                    values[str(key)] = number
            self._write(values, step)
        self.rows_logged = len(train_history)
        self._last_tick = None  # validation time is not a batch's
        if self.visualizers and train_history:
            epoch = int(train_history[-1].get("epoch", len(train_history)))
            if (epoch - 1) % self.every == 0:
                self.visualize(step=epoch)

    def on_batch_finished(self, nn: Any, train_history: "list[dict[str, Any]]") -> None:
        """Count a batch and write how long it took (from the previous one)."""
        now = time.perf_counter()
        self.batches += 1
        if self.batch_series and self._last_tick is not None:
            self.log.write(self.batch_series, now - self._last_tick, step=self.batches)
        self._last_tick = now

    def visualize(self, step=None):
        """Run every visualizer on the held-out batch, at ``step``."""
        for v in self.visualizers:
            if getattr(v, "needs_labels", False):
                v(self.X, self.y, step=step, log=self.log)
            else:
                v(self.X, step=step, log=self.log)

    def _write(self, values, step):
        write_many = getattr(self.log, "write_many", None)
        if callable(write_many):
            write_many(values, step=step)
        else:
            for name, value in values.items():
                self.log.write(name, value, step=step)


def _number(value):
    # Numbers and numpy scalars (bools included, as 0/1); None for the rest.
    if isinstance(value, (bool, np.bool_)):
        return float(bool(value))
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "biuf":
        return float(value.reshape(()))
    return None
