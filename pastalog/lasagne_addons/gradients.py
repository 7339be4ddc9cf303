"""Saliency maps (input gradients of class scores) for Lasagne classifiers."""
from typing import Any, Callable

import numpy as np

from ..addons.report import check_log, report_saliency
from ._graph import as_input, class_scores, lasagne, predict_batched, theano, T

__all__ = ["gradients"]


def gradients(output_layer: Any, input_var: Any, log: Any = None, max_examples: int = 16,
              prefix: str = "saliency") -> Callable[..., Any]:
    """Compile a function that logs saliency maps: input gradients of a class.

    The compiled ``theano.grad`` is of one class's score with respect to the
    input, per example -- the softmax's input when the output layer ends in a
    softmax, otherwise the output itself.  Each call logs ``<prefix>/grid``:
    each input beside its absolute gradient (maximum over channels).

    Parameters
    ----------
    output_layer : lasagne.layers.Layer
        A layer giving class scores or probabilities, ``(N, classes)``.
    input_var : theano.tensor.TensorVariable
    log : pastalog.Log, optional
        Where to log; or give it to each call.
    max_examples : int
        Pairs shown in the grid.
    prefix : str

    Returns
    -------
    callable
        ``visualize(X, classes=None, step=None, log=None)``: ``classes`` are
        the classes to explain, one per example (default: the predicted
        ones); returns the saliency maps, ``(N, H, W)``.

    Examples
    --------
    >>> import theano.tensor as T
    >>> x = T.tensor4("x")
    >>> l_in = lasagne.layers.InputLayer((None, 1, 8, 8), x)
    >>> l_out = lasagne.layers.DenseLayer(l_in, 3, nonlinearity=lasagne.nonlinearities.softmax)
    >>> class Recorder:
    ...     def write(self, series, value, step=None): pass
    ...     def image(self, name, img, step=None): self.name = name
    >>> r = Recorder()
    >>> gradients(l_out, x, log=r)(np.random.rand(2, 1, 8, 8)).shape, r.name
    ((2, 8, 8), 'saliency/grid')
    """
    output = lasagne.layers.get_output(output_layer, deterministic=True)
    scores = class_scores(output)
    classes_var = T.ivector("classes")
    chosen = scores[T.arange(scores.shape[0]), classes_var].sum()
    grad_fn = theano.function([input_var, classes_var], theano.grad(chosen, input_var),
                              allow_input_downcast=True)
    predict = theano.function([input_var], output, allow_input_downcast=True)
    built_log = log

    def visualize(X, classes=None, step=None, log=None):
        """Log saliency maps of ``X`` for ``classes`` (default: predicted)."""
        target = check_log(log, built_log)
        X = as_input(X)
        if classes is None:
            classes = predict_batched(predict, X).argmax(axis=1)
        classes = np.asarray(classes).astype(np.int32).reshape(-1)
        if len(classes) != len(X):
            raise ValueError("classes has %d entries for %d inputs" % (len(classes), len(X)))
        grads = np.asarray(grad_fn(X, classes))
        return report_saliency(target, X, grads, step=step, prefix=prefix,
                               max_examples=max_examples)

    visualize.needs_labels = False
    return visualize
