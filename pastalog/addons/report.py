"""Log what the add-ons compute: the framework-free half of every add-on.

A framework binding (``pastalog.lasagne_addons``, later PyTorch) computes
numpy arrays -- layer outputs, class probabilities, input gradients -- and
hands them to these functions, which turn them into series (``log.write``),
images (``log.image``) and histograms (``log.histogram``).

``log`` is a :class:`pastalog.Log` or any object with ``write(series, value,
step=None)`` and ``image(name, img, step=None)`` methods (histograms go to its
``histogram(name, values, step=None)`` when it has one).
"""

import numpy as np

from .activations import STAT_NAMES, activation_image, activation_stats
from .confusion import (
    class_labels,
    confusion_counts,
    confusion_image,
    mistakes_image,
    per_class_accuracy,
    top_confusions,
)
from .occlusion import occlusion_maps, occlusion_panel
from .saliency import saliency_grid, saliency_maps

__all__ = [
    "check_log",
    "join_name",
    "report_activations",
    "report_confusion",
    "report_occlusion",
    "report_saliency",
    "write_histogram",
    "write_scalars",
]


def check_log(log, *fallbacks):
    """Return the first log given that is not None, after checking its shape.

    Parameters
    ----------
    log, *fallbacks : object or None
        Candidates in order of preference (the call's ``log=``, then the one
        given at construction).

    Returns
    -------
    object
        A log with callable ``write`` and ``image``.

    Examples
    --------
    >>> class Recorder:
    ...     def write(self, series, value, step=None): pass
    ...     def image(self, name, img, step=None): pass
    >>> r = Recorder()
    >>> check_log(None, r) is r
    True
    >>> check_log(42)
    Traceback (most recent call last):
    ...
    TypeError: log must be a pastalog.Log (or have write() and image() methods), not 42
    """
    for candidate in (log,) + fallbacks:
        if candidate is None:
            continue
        if callable(getattr(candidate, "write", None)) and callable(
            getattr(candidate, "image", None)
        ):
            return candidate
        raise TypeError(
            "log must be a pastalog.Log (or have write() and image() methods), not %r"
            % (candidate,)
        )
    raise ValueError("no log given: pass log= when building the add-on or when calling it")


def join_name(prefix, name):
    """``prefix/name``, or ``name`` alone when the prefix is empty.

    Examples
    --------
    >>> join_name("saliency", "grid"), join_name("", "conv1/mean")
    ('saliency/grid', 'conv1/mean')
    """
    prefix = (prefix or "").strip("/")
    return "%s/%s" % (prefix, name) if prefix else name


def write_scalars(log, values, step=None):
    """Write several named numbers at one step (``write_many`` when available).

    Values become Python floats; NaN and infinities pass through.

    Examples
    --------
    >>> class Recorder:
    ...     def __init__(self): self.points = []
    ...     def write(self, series, value, step=None): self.points.append((series, value, step))
    ...     def image(self, name, img, step=None): pass
    >>> r = Recorder()
    >>> write_scalars(r, {"a": np.float32(1.5), "b": 2}, step=3)
    >>> r.points
    [('a', 1.5, 3), ('b', 2.0, 3)]
    """
    values = {str(k): float(v) for k, v in values.items()}
    write_many = getattr(log, "write_many", None)
    if callable(write_many):
        write_many(values, step=step)
    else:
        for name, value in values.items():
            log.write(name, value, step=step)


def write_histogram(log, name, values, step=None):
    """Log ``values`` as histogram ``name`` when ``log`` takes histograms; whether it did.

    Examples
    --------
    >>> class Recorder:
    ...     def __init__(self): self.hists = []
    ...     def histogram(self, name, values, step=None): self.hists.append((name, step))
    >>> r = Recorder()
    >>> write_histogram(r, "fc/activations", np.zeros(3), step=2), r.hists
    (True, [('fc/activations', 2)])
    >>> write_histogram(object(), "fc/activations", np.zeros(3))
    False
    """
    histogram = getattr(log, "histogram", None)
    if not callable(histogram):
        return False
    histogram(name, values, step=step)
    return True


def report_activations(log, outputs, step=None, prefix="", images=True, histograms=True):
    """Log statistics and pictures of several layers' outputs.

    Parameters
    ----------
    log : pastalog.Log or duck-typed equivalent
    outputs : sequence of (str, numpy.ndarray)
        ``(layer name, output for the batch)`` pairs, in network order.
    step : int, optional
    prefix : str
        Prepended (with ``/``) to every name.
    images : bool
        Also log a feature-map grid (4-D outputs) or a unit heat strip
        (2-D outputs) per layer, as ``<layer>/feature_maps`` or
        ``<layer>/units``.
    histograms : bool
        Also log the distribution of each layer's outputs as the histogram
        ``<layer>/activations`` (when ``log`` has ``histogram``).

    Returns
    -------
    dict
        ``{layer name: statistics dict}`` (see
        :func:`pastalog.addons.activations.activation_stats`).

    Examples
    --------
    >>> class Recorder:
    ...     def __init__(self): self.points, self.images = {}, {}
    ...     def write(self, series, value, step=None): self.points[series] = value
    ...     def image(self, name, img, step=None): self.images[name] = img
    >>> r = Recorder()
    >>> stats = report_activations(r, [("fc", np.array([[0.0, 2.0]]))], step=0)
    >>> sorted(r.points)
    ['fc/max', 'fc/mean', 'fc/min', 'fc/std', 'fc/zero_fraction']
    >>> list(r.images)
    ['fc/units']
    """
    result = {}
    scalars = {}
    for name, out in outputs:
        stats = activation_stats(out)
        result[name] = stats
        for key in STAT_NAMES:
            scalars[join_name(prefix, "%s/%s" % (name, key))] = stats[key]
    write_scalars(log, scalars, step=step)
    if histograms:
        for name, out in outputs:
            write_histogram(log, join_name(prefix, "%s/activations" % name), out, step=step)
    if images:
        for name, out in outputs:
            picture = activation_image(out)
            if picture is not None:
                kind, img = picture
                log.image(join_name(prefix, "%s/%s" % (name, kind)), img, step=step)
    return result


def report_occlusion(log, predict, X, y, step=None, prefix="occlusion", max_examples=4,
                     patch=None, stride=None, fill_value=0.0, batch_size=256, alpha=0.6):
    """Occlusion heatmaps of the first inputs, one image per example.

    Images are named ``<prefix>/<i>`` (``i`` the example's index in ``X``),
    each the input beside the input overlaid with its heatmap; the mean
    heatmap maximum is written as ``<prefix>/max_drop``.

    Parameters
    ----------
    log : pastalog.Log or duck-typed equivalent
    predict : callable
        Batch of inputs to class probabilities.
    X : numpy.ndarray, (N, [C,] H, W)
    y : array_like of int, (N,)
    step : int, optional
    prefix : str
    max_examples : int
        How many of the first inputs to occlude.
    patch, stride, fill_value, batch_size
        See :func:`pastalog.addons.occlusion.occlusion_maps`.
    alpha : float
        Heatmap opacity.

    Returns
    -------
    numpy.ndarray, (n, H, W)
        The heatmaps.

    Examples
    --------
    >>> class Recorder:
    ...     def __init__(self): self.images = {}
    ...     def write(self, series, value, step=None): pass
    ...     def image(self, name, img, step=None): self.images[name] = img
    >>> predict = lambda b: np.stack([1 - b[:, 0, 0, 0], b[:, 0, 0, 0]], axis=1)
    >>> r = Recorder()
    >>> heat = report_occlusion(r, predict, np.ones((3, 1, 8, 8)), [1, 1, 1], max_examples=2)
    >>> heat.shape, sorted(r.images)
    ((2, 8, 8), ['occlusion/0', 'occlusion/1'])
    """
    if int(max_examples) < 1:
        raise ValueError("max_examples must be >= 1, not %r" % (max_examples,))
    X = np.asarray(X)
    y = np.asarray(y).reshape(-1)
    if len(y) != len(X):
        raise ValueError("y has %d labels for %d inputs" % (len(y), len(X)))
    n = min(len(X), int(max_examples))
    heat, _ = occlusion_maps(predict, X[:n], y[:n], patch=patch, stride=stride,
                             fill_value=fill_value, batch_size=batch_size)
    for i in range(n):
        log.image(join_name(prefix, str(i)), occlusion_panel(X[i], heat[i], alpha=alpha), step=step)
    write_scalars(log, {join_name(prefix, "max_drop"): heat.reshape(n, -1).max(axis=1).mean()},
                  step=step)
    return heat


def report_saliency(log, X, gradients, step=None, prefix="saliency", max_examples=16):
    """Log the saliency grid: each input beside its absolute-gradient map.

    Parameters
    ----------
    log : pastalog.Log or duck-typed equivalent
    X : numpy.ndarray, (N, [C,] H, W)
    gradients : numpy.ndarray, same shape as ``X``
        Gradient of each example's class score w.r.t. its input.
    step : int, optional
    prefix : str
        The image is named ``<prefix>/grid``.
    max_examples : int

    Returns
    -------
    numpy.ndarray, (N, H, W)
        The saliency maps (absolute gradient, max over channels).

    Examples
    --------
    >>> class Recorder:
    ...     def __init__(self): self.images = {}
    ...     def write(self, series, value, step=None): pass
    ...     def image(self, name, img, step=None): self.images[name] = img
    >>> r = Recorder()
    >>> report_saliency(r, np.zeros((2, 1, 8, 8)), np.ones((2, 1, 8, 8))).shape
    (2, 8, 8)
    >>> list(r.images)
    ['saliency/grid']
    """
    maps = saliency_maps(gradients)
    log.image(join_name(prefix, "grid"), saliency_grid(X, maps, max_examples=max_examples),
              step=step)
    return maps


def report_confusion(log, probs, y, X=None, step=None, prefix="confusion", class_names=None,
                     n_classes=None, top_k=5, max_per_row=8):
    """Log a confusion matrix, per-class accuracy and the commonest mistakes.

    Logs the image ``<prefix>/matrix`` (counts and row-normalised), the
    series ``<prefix>/accuracy`` and ``<prefix>/accuracy/<class>`` (classes
    with no example in the batch are skipped), and, when ``X`` is given and
    there are mistakes, ``<prefix>/mistakes``: one row per most frequent
    (true, predicted) pair, its examples ordered by the probability given to
    the wrong class, most confident first.

    Parameters
    ----------
    log : pastalog.Log or duck-typed equivalent
    probs : numpy.ndarray, (N, K)
        Class probabilities (or scores) per example.
    y : array_like of int, (N,)
    X : numpy.ndarray, optional
        The inputs, to draw the mistakes.
    step : int, optional
    prefix : str
    class_names : sequence of str, optional
    n_classes : int, optional
        Defaults to ``probs.shape[1]``.
    top_k : int
        Rows of the mistakes image.
    max_per_row : int
        Examples per row.

    Returns
    -------
    dict
        ``cm`` (the counts), ``accuracy``, ``per_class`` and ``mistakes``
        (``(true, predicted, indices, confidences)`` per confusion).

    Examples
    --------
    >>> class Recorder:
    ...     def __init__(self): self.points, self.images = {}, {}
    ...     def write(self, series, value, step=None): self.points[series] = value
    ...     def image(self, name, img, step=None): self.images[name] = img
    >>> probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]])
    >>> r = Recorder()
    >>> out = report_confusion(r, probs, [0, 1, 1], X=np.zeros((3, 1, 8, 8)))
    >>> out["cm"].tolist(), out["mistakes"][0][:3]
    ([[1, 0], [1, 1]], (1, 0, [2]))
    >>> r.points["confusion/accuracy/1"], sorted(r.images)
    (0.5, ['confusion/matrix', 'confusion/mistakes'])
    """
    probs = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y).astype(np.int64).reshape(-1)
    if probs.ndim != 2 or len(probs) != len(y):
        raise ValueError(
            "probs must be (N, classes) for %d labels, got shape %r" % (len(y), probs.shape)
        )
    k = probs.shape[1] if n_classes is None else int(n_classes)
    pred = probs.argmax(axis=1)
    cm = confusion_counts(y, pred, k)
    names = class_labels(k, class_names)
    per_class = per_class_accuracy(cm)
    accuracy = float(np.mean(pred == y)) if len(y) else float("nan")
    scalars = {join_name(prefix, "accuracy"): accuracy}
    for c in range(k):
        if np.isfinite(per_class[c]):
            scalars[join_name(prefix, "accuracy/%s" % names[c])] = per_class[c]
    write_scalars(log, scalars, step=step)
    log.image(join_name(prefix, "matrix"), confusion_image(cm, names), step=step)

    mistakes = []
    for t, p, _count in top_confusions(cm, top_k):
        idx = np.nonzero((y == t) & (pred == p))[0]
        conf = probs[idx, p]
        order = np.argsort(-conf, kind="stable")
        mistakes.append((t, p, idx[order].tolist(), conf[order].tolist()))
    if X is not None and mistakes:
        log.image(join_name(prefix, "mistakes"),
                  mistakes_image(X, mistakes, names, max_per_row=max_per_row), step=step)
    return {"cm": cm, "accuracy": accuracy, "per_class": per_class, "mistakes": mistakes}
