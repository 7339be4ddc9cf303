"""pastalog: real-time logging and visualization for neural-network training.

>>> import pastalog
>>> log = pastalog.Log(8120, "model_1")          # doctest: +SKIP
>>> log.write("train_loss", 2.7)                   # doctest: +SKIP
"""
__version__ = "0.2.0"

from .client import Log
from .errors import InvalidName, InvalidValue, PastalogError

__all__ = ["InvalidName", "InvalidValue", "Log", "PastalogError", "__version__"]
