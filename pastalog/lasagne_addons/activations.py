"""Layer activations and statistics for Lasagne networks."""
from typing import Any, Callable

import numpy as np

from ..addons.report import check_log, join_name, report_activations, write_histogram
from ._graph import as_input, named_layers, theano, lasagne

__all__ = ["activations"]


def activations(layers: Any, input_var: Any, log: Any = None, prefix: str = "",
                images: bool = True) -> Callable[..., Any]:
    """Compile a function that logs every given layer's output for a batch.

    One Theano function returns all the layers' outputs (deterministic: no
    dropout).  Each call logs, per layer, the series ``<layer>/mean``,
    ``/std``, ``/min``, ``/max`` and ``/zero_fraction`` (dead ReLUs), the
    histogram ``<layer>/activations`` of its outputs and, for a layer with
    parameters, the histogram ``parameters/<layer>`` of their values (both when
    ``log`` has ``histogram``), and an image: for convolutional layers a grid of the first
    example's feature maps (``<layer>/feature_maps``), for dense layers a heat
    strip of the units over the batch (``<layer>/units``).

    Parameters
    ----------
    layers : lasagne.layers.Layer or list of Layer
        An output layer (meaning it and all layers below it) or a list.
    input_var : theano.tensor.TensorVariable
        The network's input variable.
    log : pastalog.Log, optional
        Where to log; or give it to each call.
    prefix : str
        Prepended (with ``/``) to every name.
    images : bool
        Log the pictures too, not only the statistics.

    Returns
    -------
    callable
        ``visualize(X, step=None, log=None) -> {layer name: stats}``.

    Examples
    --------
    >>> import theano.tensor as T, numpy as np
    >>> x = T.matrix("x")
    >>> l_in = lasagne.layers.InputLayer((None, 3), x)
    >>> l_out = lasagne.layers.DenseLayer(l_in, 4, name="fc")
    >>> class Recorder:
    ...     def __init__(self): self.points = {}
    ...     def write(self, series, value, step=None): self.points[series] = value
    ...     def image(self, name, img, step=None): pass
    >>> visualize = activations(l_out, x, log=Recorder())
    >>> sorted(visualize(np.ones((2, 3)), step=0)["fc"])
    ['max', 'mean', 'min', 'std', 'zero_fraction']
    """
    named = named_layers(layers)
    outputs = lasagne.layers.get_output([l for _, l in named], deterministic=True)
    fn = theano.function([input_var], outputs, allow_input_downcast=True)
    names = [n for n, _ in named]
    params = [(n, l.get_params()) for n, l in named if l.get_params()]
    built_log = log

    def visualize(X, step=None, log=None):
        """Log the layers' statistics and pictures for the batch ``X``."""
        target = check_log(log, built_log)
        values = fn(as_input(X))
        stats = report_activations(target, list(zip(names, values)), step=step,
                                   prefix=prefix, images=images)
        for name, shared in params:     # the weights as they are now, a layer at a time
            flat = np.concatenate([np.ravel(p.get_value()) for p in shared])
            write_histogram(target, join_name(prefix, "parameters/%s" % name), flat,
                            step=step)
        return stats

    visualize.needs_labels = False
    visualize.layer_names = names
    return visualize
