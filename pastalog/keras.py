"""A Keras 3 callback: ``model.fit(..., callbacks=[PastalogCallback(8120, "run")])``.

Works on every Keras backend (set ``KERAS_BACKEND``: ``torch``, ``jax`` or
``tensorflow``).  Imports Keras and raises ImportError naming the extra to
install when it is missing.
"""

import numbers

from ._config import lenient_config

__all__ = ["PastalogCallback"]

try:
    import keras
except ImportError as exc:
    raise ImportError("pastalog.keras needs Keras 3 and a backend: pip install "
                      "'pastalog[keras]' (with torch: set KERAS_BACKEND=torch); %s" % (exc,)
                      ) from exc


def _numbers(logs, prefix):
    values = {}
    for key, value in (logs or {}).items():
        if hasattr(value, "item"):
            try:
                value = value.item()
            except (TypeError, ValueError):  # not a scalar: left out
                continue
        if isinstance(value, numbers.Number):
            values[prefix + key] = value
    return values


class PastalogCallback(keras.callbacks.Callback):
    """Log a Keras fit's metrics every ``every`` batches and every epoch.

    Batch metrics go to ``batch/<metric>`` (Keras gives running means over
    the epoch so far) at the global batch number, one point every ``every``
    batches; epoch metrics, validation ones included, to ``epoch/<metric>``
    (``epoch/loss``, ``epoch/val_accuracy``) at the epoch number, as W&B's
    Keras callback names them.

    Parameters
    ----------
    server : int or str
        Port on this machine or URL, as :class:`pastalog.Log` takes it.
    name : str
        The model name to log under.
    every : int
        Log batch metrics every this many batches (0: never).
    log : pastalog.Log, optional
        Log through this one instead of making one.
    **log_options
        Passed to :class:`pastalog.Log`.

    Examples
    --------
    >>> model.fit(X, y, epochs=3, callbacks=[PastalogCallback(8120, "mlp")])   # doctest: +SKIP
    """

    def __init__(self, server=8120, name="keras", every=10, *, log=None, **log_options):
        super().__init__()
        if isinstance(every, bool) or not isinstance(every, int) or every < 0:
            raise ValueError("every must be an int >= 0, not %r" % (every,))
        if log is None:
            from .client import Log

            log = Log(server, name, **log_options)
        self.log, self.every, self.batches = log, every, 0

    def on_train_begin(self, logs=None):
        """Send the fit arguments Keras gives (``epochs``, ``steps``...) and the
        optimizer's config (under ``optimizer/``) as the run's config."""
        config = dict(getattr(self, "params", None) or {})
        optimizer = getattr(getattr(self, "model", None), "optimizer", None)
        if optimizer is not None and hasattr(optimizer, "get_config"):
            try:
                config["optimizer"] = optimizer.get_config()
            except (TypeError, ValueError, NotImplementedError):
                pass
        if config:
            self.log.config.update(lenient_config(config))

    def on_train_batch_end(self, batch, logs=None):
        step = self.batches
        self.batches += 1
        if self.every and step % self.every == 0:
            values = _numbers(logs, "batch/")
            if values:
                self.log.write_many(values, step=step)

    def on_epoch_end(self, epoch, logs=None):
        values = _numbers(logs, "epoch/")
        if values:
            self.log.write_many(values, step=int(epoch))

    def on_train_end(self, logs=None):
        self.log.flush(timeout=30)
