"""Graph helpers shared by the Lasagne add-ons: layers, names, compiled predict."""

import numpy as np

from ..addons.activations import layer_label
from ._compat import require

__all__ = ["as_input", "class_scores", "compile_predict", "named_layers", "predict_batched"]

theano, T, lasagne = require()


def named_layers(layers):
    """Resolve the ``layers`` argument to ``[(name, layer), ...]``.

    Parameters
    ----------
    layers : lasagne.layers.Layer or sequence of Layer
        One layer means that layer and every layer below it (input layers
        left out); a sequence is taken as given.

    Returns
    -------
    list of (str, Layer)
        Names from :func:`pastalog.addons.activations.layer_label`, numbered
        by position in the whole network, made unique with a ``_2`` suffix.

    Examples
    --------
    >>> l_in = lasagne.layers.InputLayer((None, 3))
    >>> l_out = lasagne.layers.DenseLayer(l_in, 2, name="out")
    >>> [n for n, _ in named_layers(l_out)]
    ['out']
    >>> [n for n, _ in named_layers([lasagne.layers.DenseLayer(l_in, 4)])]
    ['DenseLayer1']
    """
    if isinstance(layers, lasagne.layers.Layer):
        chosen = [l for l in lasagne.layers.get_all_layers(layers)
                  if not isinstance(l, lasagne.layers.InputLayer)]
    else:
        chosen = list(layers)
        if not chosen:
            raise ValueError("layers must be a Lasagne layer or a non-empty list of them, not %r"
                             % (layers,))
        for l in chosen:
            if not isinstance(l, lasagne.layers.Layer):
                raise TypeError("layers must hold Lasagne layers, not %r" % (l,))
    order = {id(l): i for i, l in enumerate(lasagne.layers.get_all_layers(chosen))}
    names, seen = [], {}
    for l in chosen:
        name = layer_label(l, order[id(l)])
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else "%s_%d" % (name, seen[name]))
    return list(zip(names, chosen))


def as_input(X):
    """``X`` as a float array of Theano's ``floatX``.

    Examples
    --------
    >>> as_input([[1, 2]]).dtype == theano.config.floatX
    True
    """
    return np.asarray(X, dtype=theano.config.floatX)


def compile_predict(output_layer, input_var):
    """Compile ``X -> output`` in deterministic mode (dropout off).

    Examples
    --------
    >>> x = T.matrix("x")
    >>> l_out = lasagne.layers.DropoutLayer(lasagne.layers.InputLayer((None, 2), x), 0.5)
    >>> compile_predict(l_out, x)(as_input([[1, 2]])).tolist()
    [[1.0, 2.0]]
    """
    out = lasagne.layers.get_output(output_layer, deterministic=True)
    return theano.function([input_var], out, allow_input_downcast=True)


def predict_batched(fn, X, batch_size=256):
    """Apply a compiled ``fn`` to ``X`` in chunks of ``batch_size`` rows.

    Examples
    --------
    >>> sizes = []
    >>> out = predict_batched(lambda b: sizes.append(len(b)) or b, np.zeros((5, 2)), 2)
    >>> out.shape, sizes
    ((5, 2), [2, 2, 1])
    """
    X = as_input(X)
    if len(X) <= batch_size:
        return np.asarray(fn(X))
    return np.concatenate([np.asarray(fn(X[i:i + batch_size]))
                           for i in range(0, len(X), batch_size)])


def class_scores(output):
    """The class scores behind an output: the softmax's input when there is one.

    Saliency uses the unnormalised score of a class (Simonyan et al. 2014):
    the gradient of a softmax probability also depends on every other class.

    Examples
    --------
    >>> x = T.matrix("x")
    >>> class_scores(T.nnet.softmax(x)) is x, class_scores(x) is x
    (True, True)
    """
    owner = getattr(output, "owner", None)
    if owner is not None and type(owner.op).__name__ == "Softmax":
        return owner.inputs[0]
    return output
