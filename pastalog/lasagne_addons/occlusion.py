"""Occlusion heatmaps for Lasagne classifiers."""
from typing import Any, Callable, Optional, Sequence

from ..addons.report import check_log, report_occlusion
from ._graph import as_input, compile_predict

__all__ = ["occlusion"]


def occlusion(output_layer: Any, input_var: Any, log: Any = None, patch: Optional[int] = None,
              stride: Optional[int] = None, fill_value: float = 0.0, max_examples: int = 4,
              batch_size: int = 256, prefix: str = "occlusion") -> Callable[..., Any]:
    """Compile a function that logs occlusion heatmaps of a classifier.

    A square patch slides over each input; every occluded copy goes through
    the compiled network in batches, and the drop of the true class's
    probability is averaged per pixel.  Each call logs one image per example,
    ``<prefix>/<i>``: the input beside the input overlaid with the heatmap
    (red: hiding it hurts the true class; blue: helps it).

    Parameters
    ----------
    output_layer : lasagne.layers.Layer
        A layer giving class probabilities, ``(N, classes)``.
    input_var : theano.tensor.TensorVariable
        The network's input, ``(N, [C,] H, W)``.
    log : pastalog.Log, optional
        Where to log; or give it to each call.
    patch, stride : int, optional
        Patch side and step in pixels; by default a quarter of the shorter
        side and a third of that (7 and 2 for 28x28, 8 and 2 for 32x32).
    fill_value : float
        Value of occluded pixels (0: black for inputs scaled to [0, 1], the
        mean for zero-centred inputs).
    max_examples : int
        Examples per call (the first ones of ``X``).
    batch_size : int
        Occluded copies per call of the compiled function.
    prefix : str

    Returns
    -------
    callable
        ``visualize(X, y, step=None, log=None, max_examples=None)`` returning the
        heatmaps, ``(n, H, W)``.

    Examples
    --------
    >>> import numpy as np, theano.tensor as T, lasagne
    >>> x = T.tensor4("x")
    >>> l_in = lasagne.layers.InputLayer((None, 1, 8, 8), x)
    >>> l_out = lasagne.layers.DenseLayer(l_in, 3, nonlinearity=lasagne.nonlinearities.softmax)
    >>> class Recorder:
    ...     def __init__(self): self.images = {}
    ...     def write(self, series, value, step=None): pass
    ...     def image(self, name, img, step=None): self.images[name] = img
    >>> r = Recorder()
    >>> heat = occlusion(l_out, x, log=r)(np.random.rand(5, 1, 8, 8), [0, 1, 2, 0, 1])
    >>> heat.shape, sorted(r.images)
    ((4, 8, 8), ['occlusion/0', 'occlusion/1', 'occlusion/2', 'occlusion/3'])
    """
    predict = compile_predict(output_layer, input_var)
    built_log, default_examples = log, max_examples

    def visualize(X, y, step=None, log=None, max_examples=None):
        """Occlude the first inputs of ``X`` (true classes ``y``) and log heatmaps."""
        target = check_log(log, built_log)
        n = default_examples if max_examples is None else max_examples
        return report_occlusion(target, lambda b: predict(as_input(b)), as_input(X), y,
                                step=step, prefix=prefix, max_examples=n, patch=patch,
                                stride=stride, fill_value=fill_value, batch_size=batch_size)

    visualize.needs_labels = True
    return visualize
