"""A Hugging Face Transformers callback: ``Trainer(..., callbacks=[PastalogCallback(8120)])``.

Imports Transformers and raises ImportError naming the extra to install when
it is missing.
"""

import numbers

from ._config import lenient_config
from ._run import Config

__all__ = ["PastalogCallback"]

try:
    from transformers import TrainerCallback
except ImportError as exc:
    raise ImportError("pastalog.transformers needs Transformers: pip install "
                      "'pastalog[transformers]'") from exc


def series_name(key):
    """Where a Trainer log key goes, as W&B's integration names it.

    Examples
    --------
    >>> series_name("loss"), series_name("eval_loss"), series_name("test_accuracy")
    ('train/loss', 'eval/loss', 'test/accuracy')
    """
    for split in ("eval", "test"):
        if key.startswith(split + "_"):
            return "%s/%s" % (split, key[len(split) + 1:])
    return "train/" + key


class PastalogCallback(TrainerCallback):
    """Log every ``Trainer`` log (loss, learning rate, grad norm, evaluation) to pastalog.

    Each numeric value of ``on_log`` becomes a series at the trainer's
    global step: ``train/loss``, ``train/learning_rate``, ``train/grad_norm``,
    ``train/epoch``, ``eval/loss``...  The run's ``TrainingArguments``
    (``to_dict()``, with the model's config under ``model/``) are sent as the
    run's config and kept as ``callback.config``.
    Only the main process logs.

    Parameters
    ----------
    server : int or str
        Port on this machine or URL, as :class:`pastalog.Log` takes it.
    name : str, optional
        The model name; default the run name of the ``TrainingArguments``
        (``run_name``, which defaults to the output directory).
    log : pastalog.Log, optional
        Log through this one instead of making one.
    **log_options
        Passed to :class:`pastalog.Log`.

    Examples
    --------
    >>> trainer = Trainer(model, args, train_dataset=data,
    ...                   callbacks=[PastalogCallback(8120, "tiny-bert")])   # doctest: +SKIP
    """

    def __init__(self, server=8120, name=None, *, log=None, **log_options):
        self.server, self.name, self.log, self._log_options = server, name, log, log_options
        self.config = Config()

    def _setup(self, args):
        if self.log is None:
            from .client import Log

            name = self.name or getattr(args, "run_name", None) or "transformers"
            self.log = Log(self.server, str(name), **self._log_options)

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if not state.is_world_process_zero:
            return
        self._setup(args)
        self.config.update(args.to_dict())
        model_config = getattr(model, "config", None)
        if model_config is not None and hasattr(model_config, "to_dict"):
            self.config["model"] = model_config.to_dict()
        self.log.config.update(lenient_config(self.config))

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero:
            return
        self._setup(args)
        values = {series_name(k): v for k, v in (logs or {}).items()
                  if isinstance(v, numbers.Number) and not isinstance(v, bool)}
        if values:
            self.log.write_many(values, step=int(state.global_step))

    def on_train_end(self, args, state, control, **kwargs):
        if self.log is not None and state.is_world_process_zero:
            self.log.flush(timeout=30)
