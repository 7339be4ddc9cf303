"""Import nolearn 0.6.1 on Python 3.10+ with a current scikit-learn (tests only).

nolearn 0.6.1 does ``from collections import Iterable`` (moved to
``collections.abc``; gone from ``collections`` in Python 3.10) and
``from sklearn.cross_validation import KFold, StratifiedKFold`` (removed in
scikit-learn 0.20).  For the duration of the import only, this provides both:
the alias, and a ``sklearn.cross_validation`` whose two classes take the old
call style and iterate over ``(train, test)`` index pairs.  Afterwards both are
removed again; nolearn keeps the names it bound.  Not part of pastalog: the
library never imports nolearn.
"""

import collections
import collections.abc
import importlib
import sys
import types

import numpy as np
from sklearn import model_selection

__all__ = ["import_nolearn_lasagne"]


class KFold:
    """Old-style ``KFold(n, n_folds)``: iterate over (train, test) indices."""

    def __init__(self, n, n_folds=3, shuffle=False, random_state=None):
        self.n = int(n)
        self._kf = model_selection.KFold(int(n_folds), shuffle=shuffle,
                                         random_state=random_state if shuffle else None)

    def __iter__(self):
        return iter(self._kf.split(np.zeros((self.n, 1))))


class StratifiedKFold:
    """Old-style ``StratifiedKFold(y, n_folds)``: iterate over (train, test) indices."""

    def __init__(self, y, n_folds=3, shuffle=False, random_state=None):
        self.y = np.asarray(y)
        self._kf = model_selection.StratifiedKFold(
            int(n_folds), shuffle=shuffle, random_state=random_state if shuffle else None)

    def __iter__(self):
        return iter(self._kf.split(np.zeros((len(self.y), 1)), self.y))


def import_nolearn_lasagne():
    """Import and return ``nolearn.lasagne`` (import pastalog.lasagne_addons first)."""
    if "nolearn.lasagne" in sys.modules:
        return sys.modules["nolearn.lasagne"]
    import sklearn

    had_iterable = hasattr(collections, "Iterable")
    cv = types.ModuleType("sklearn.cross_validation")
    cv.KFold, cv.StratifiedKFold = KFold, StratifiedKFold
    old_cv = sys.modules.get("sklearn.cross_validation")
    try:
        if not had_iterable:
            collections.Iterable = collections.abc.Iterable
        sys.modules["sklearn.cross_validation"] = cv
        sklearn.cross_validation = cv
        return importlib.import_module("nolearn.lasagne")
    finally:
        if not had_iterable:
            del collections.Iterable
        if old_cv is None:
            sys.modules.pop("sklearn.cross_validation", None)
            del sklearn.cross_validation
        else:
            sys.modules["sklearn.cross_validation"] = old_cv
