"""Confusion matrix and most common mistakes for Lasagne classifiers."""
from typing import Any, Callable, Optional, Sequence

from ..addons.report import check_log, report_confusion
from ._graph import as_input, compile_predict, predict_batched

__all__ = ["confusion_matrix"]


def confusion_matrix(output_layer: Any, input_var: Any,
                     class_names: Optional[Sequence[str]] = None, log: Any = None,
                     top_k: int = 5, max_per_row: int = 8, batch_size: int = 256,
                     prefix: str = "confusion") -> Callable[..., Any]:
    """Compile a function that logs a classifier's confusion matrix and mistakes.

    Each call logs ``<prefix>/matrix`` (counts and row-normalised), the
    series ``<prefix>/accuracy`` and ``<prefix>/accuracy/<class>``, and
    ``<prefix>/mistakes``: the ``top_k`` most frequent (true, predicted)
    confusions, one row each, with those examples, most confident first.

    Parameters
    ----------
    output_layer : lasagne.layers.Layer
        A layer giving class probabilities, ``(N, classes)``.
    input_var : theano.tensor.TensorVariable
    class_names : sequence of str, optional
        Names of the classes, in index order; their indices otherwise.
    log : pastalog.Log, optional
        Where to log; or give it to each call.
    top_k, max_per_row : int
        Rows and examples per row of the mistakes image.
    batch_size : int
        Rows per call of the compiled function.
    prefix : str

    Returns
    -------
    callable
        ``visualize(X, y, step=None, log=None)`` returning a dict with ``cm``,
        ``accuracy``, ``per_class`` and ``mistakes`` (see
        :func:`pastalog.addons.report.report_confusion`).

    Examples
    --------
    >>> import numpy as np, theano.tensor as T, lasagne
    >>> x = T.matrix("x")
    >>> l_in = lasagne.layers.InputLayer((None, 4), x)
    >>> l_out = lasagne.layers.DenseLayer(l_in, 2, nonlinearity=lasagne.nonlinearities.softmax)
    >>> class Recorder:
    ...     def write(self, series, value, step=None): pass
    ...     def image(self, name, img, step=None): pass
    >>> out = confusion_matrix(l_out, x, ["no", "yes"], log=Recorder())(np.eye(4), [0, 1, 0, 1])
    >>> int(out["cm"].sum())
    4
    """
    predict = compile_predict(output_layer, input_var)
    built_log = log

    def visualize(X, y, step=None, log=None):
        """Log the confusion matrix and mistakes of ``X`` against labels ``y``."""
        target = check_log(log, built_log)
        X = as_input(X)
        probs = predict_batched(predict, X, batch_size)
        return report_confusion(target, probs, y, X=X, step=step, prefix=prefix,
                                class_names=class_names, top_k=top_k, max_per_row=max_per_row)

    visualize.needs_labels = True
    return visualize
