"""pastalog: real-time logging and visualization for neural-network training.

>>> import pastalog
>>> log = pastalog.Log(8120, "model_1")          # doctest: +SKIP
>>> log.write("train_loss", 2.7)                   # doctest: +SKIP

Scripts written for W&B or trackio run with ``import pastalog as wandb``:
``init``, ``log``, ``finish``, and ``pastalog.run`` / ``pastalog.config`` for
the current run (see :mod:`pastalog._run`).
"""
__version__ = "0.2.0"

from . import _run
from ._histogram import Histogram
from ._run import finish, init, log
from .client import Log
from .errors import InvalidName, InvalidValue, PastalogError

__all__ = ["Histogram", "InvalidName", "InvalidValue", "Log", "PastalogError", "__version__",
           "finish", "init", "log"]


def __getattr__(name: str) -> object:
    # wandb.run and wandb.config: the current run (None before init) and its config.
    if name == "run":
        return _run.current()
    if name == "config":
        run = _run.current()
        if run is None:
            raise AttributeError("pastalog.config exists once pastalog.init() has started a run")
        return run.config
    raise AttributeError("module 'pastalog' has no attribute %r" % (name,))
