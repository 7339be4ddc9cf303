"""A Lightning logger: ``Trainer(logger=PastalogLogger(8120, "run"))``.

Imports Lightning (``lightning.pytorch``, or the older ``pytorch_lightning``)
and raises ImportError naming the extra to install when neither is there.
"""

import numbers

from ._config import flatten, lenient_config
from ._run import Config

__all__ = ["PastalogLogger"]

try:
    from lightning.pytorch.loggers.logger import Logger, rank_zero_experiment
    from lightning.pytorch.utilities import rank_zero_only
except ImportError:  # the package's older name
    try:
        from pytorch_lightning.loggers.logger import Logger, rank_zero_experiment
        from pytorch_lightning.utilities import rank_zero_only
    except ImportError as exc:
        raise ImportError("pastalog.lightning needs Lightning: pip install 'pastalog[lightning]'"
                          ) from exc


def _as_picture(img):
    # W&B's logger takes tensors (C, H, W), arrays and PIL images; Log.image
    # takes arrays (H, W[, C]), PIL images, figures, PNG bytes and paths.
    if hasattr(img, "detach") and hasattr(img, "cpu"):
        img = img.detach().cpu().float().numpy()
    shape = getattr(img, "shape", None)
    if shape is not None and len(shape) == 3 and shape[0] in (1, 3, 4) and shape[-1] not in (3, 4):
        img = img.transpose(1, 2, 0)
        if img.shape[-1] == 1:
            img = img[..., 0]
    return img


class PastalogLogger(Logger):
    """Log a Lightning run's metrics (and images) to a pastalog server.

    Parameters
    ----------
    server : int or str
        Port on this machine or URL, as :class:`pastalog.Log` takes it.
    name : str
        The model name the run logs under.
    version : str or int, optional
        Lightning's run version (used for nothing on the server).
    prefix : str
        Prepended (with ``/``) to every series and image name.
    log : pastalog.Log, optional
        Log through this one instead of making one (its model name wins).
    **log_options
        Passed to :class:`pastalog.Log` (``token=``, ``flush_interval=``...).

    Every ``self.log(...)`` of the LightningModule arrives as a series at the
    trainer's global step (``epoch`` too, as Lightning adds it).
    ``log_hyperparams`` sends the hyperparameters as the run's config
    (flattened with ``/``; a value that is not a number, string, boolean or None
    goes as its ``repr``) and keeps them on ``logger.hyperparams``.
    ``log_image(key, images, step)`` spells it as W&B's logger does.

    Examples
    --------
    >>> logger = PastalogLogger(8120, "run")                # doctest: +SKIP
    >>> trainer = lightning.Trainer(logger=logger)          # doctest: +SKIP
    """

    def __init__(self, server=8120, name="lightning", version=None, *, prefix="", log=None,
                 **log_options):
        super().__init__()
        self._server, self._name, self._version = server, str(name), version
        self._prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._log, self._log_options = log, log_options
        self.hyperparams = Config()

    @property
    def name(self):
        """The model name the run logs under."""
        return self._log.model_name if self._log is not None else self._name

    @property
    def version(self):
        """The version given, else 0."""
        return 0 if self._version is None else self._version

    @property
    @rank_zero_experiment
    def experiment(self):
        """The :class:`pastalog.Log` (made on first use, on rank zero only)."""
        if self._log is None:
            from .client import Log

            self._log = Log(self._server, self._name, **self._log_options)
        return self._log

    @rank_zero_only
    def log_metrics(self, metrics, step=None):
        """Write each metric (numbers and scalar tensors) at ``step``."""
        values = {}
        for key, value in metrics.items():
            if hasattr(value, "item"):
                value = value.item()
            if isinstance(value, numbers.Number):
                values[self._prefix + key] = value
        if not values:
            return
        if step is None:
            for key, value in values.items():
                self.experiment.write(key, value)
        else:
            self.experiment.write_many(values, step=int(step))

    @rank_zero_only
    def log_hyperparams(self, params, *args, **kwargs):
        """Send the hyperparameters as the run's config; kept on ``self.hyperparams``."""
        if params is None:
            return
        if not isinstance(params, dict):
            params = vars(params)
        self.hyperparams.update(flatten(dict(params)))
        self.experiment.config.update(lenient_config(self.hyperparams))

    @rank_zero_only
    def log_image(self, key, images, step=None, **kwargs):
        """Log images as W&B's logger spells it: ``key`` names one, ``key/<i>`` several.

        ``images`` is a list of tensors ``(C, H, W)`` or ``(H, W)``, arrays
        ``(H, W[, C])``, PIL images, ...; ``caption`` and other W&B keywords
        are accepted and not used.
        """
        if not isinstance(images, (list, tuple)):
            raise TypeError("log_image takes a list of images, not %r" % (type(images),))
        for i, img in enumerate(images):
            name = key if len(images) == 1 else "%s/%d" % (key, i)
            self.experiment.image(self._prefix + name, _as_picture(img),
                                  step=None if step is None else int(step))

    @rank_zero_only
    def finalize(self, status):
        """Send what is left (Lightning calls it at the end of fit, validate, test)."""
        if self._log is not None:
            self._log.flush(timeout=30)
