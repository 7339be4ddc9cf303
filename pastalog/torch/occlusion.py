"""Occlusion heatmaps and confusion matrices for PyTorch classifiers."""

from ..addons.report import check_log, report_confusion, report_occlusion
from ._util import as_input, predict_probs

__all__ = ["confusion_matrix", "occlusion"]


def occlusion(model, log=None, patch=None, stride=None, fill_value=0.0, max_examples=4,
              batch_size=256, prefix="occlusion"):
    """Build a function that logs occlusion heatmaps of a classifier.

    A square patch slides over each input; every occluded copy goes through
    the model (eval mode, no gradients) in batches, and the drop of the true
    class's probability is averaged per pixel (the loop is
    :func:`pastalog.addons.occlusion.occlusion_maps`).  Each call logs one
    image per example, ``<prefix>/<i>``: the input beside the input overlaid
    with the heatmap (red: hiding it hurts the true class; blue: helps it),
    and the series ``<prefix>/max_drop``.

    Parameters
    ----------
    model : torch.nn.Module
        Outputs class scores or probabilities, ``(N, classes)``; scores go
        through a softmax.
    log : pastalog.Log, optional
    patch, stride : int, optional
        Patch side and step in pixels; by default a quarter of the shorter
        side and a third of that.
    fill_value : float
        Value of occluded pixels.
    max_examples : int
        Examples per call (the first ones of ``X``).
    batch_size : int
        Occluded copies per forward pass.
    prefix : str

    Returns
    -------
    callable
        ``visualize(X, y, step=None, log=None, max_examples=None)`` returning
        the heatmaps, ``(n, H, W)``.

    Examples
    --------
    >>> import numpy as np, torch
    >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 3))
    >>> class Recorder:
    ...     def __init__(self): self.images = {}
    ...     def write(self, series, value, step=None): pass
    ...     def image(self, name, img, step=None): self.images[name] = img
    >>> r = Recorder()
    >>> heat = occlusion(net, log=r)(np.random.rand(5, 1, 8, 8), [0, 1, 2, 0, 1])
    >>> heat.shape, sorted(r.images)
    ((4, 8, 8), ['occlusion/0', 'occlusion/1', 'occlusion/2', 'occlusion/3'])
    """
    built_log, default_examples = log, max_examples

    def visualize(X, y, step=None, log=None, max_examples=None):
        """Occlude the first inputs of ``X`` (true classes ``y``) and log heatmaps."""
        target = check_log(log, built_log)
        n = default_examples if max_examples is None else max_examples
        _, x_np = as_input(X, model)
        return report_occlusion(target, lambda b: predict_probs(model, b, batch_size), x_np, y,
                                step=step, prefix=prefix, max_examples=n, patch=patch,
                                stride=stride, fill_value=fill_value, batch_size=batch_size)

    visualize.needs_labels = True
    return visualize


def confusion_matrix(model, log=None, class_names=None, top_k=5, max_per_row=8, batch_size=256,
                     prefix="confusion"):
    """Build a function that logs a classifier's confusion matrix and mistakes.

    Each call logs ``<prefix>/matrix`` (counts and row-normalised), the series
    ``<prefix>/accuracy`` and ``<prefix>/accuracy/<class>``, and
    ``<prefix>/mistakes``: the ``top_k`` most frequent (true, predicted)
    confusions, one row each, with those examples, most confident first.

    Parameters
    ----------
    model : torch.nn.Module
        Outputs class scores or probabilities, ``(N, classes)``.
    log : pastalog.Log, optional
    class_names : sequence of str, optional
    top_k, max_per_row : int
        Rows and examples per row of the mistakes image.
    batch_size : int
        Rows per forward pass.
    prefix : str

    Returns
    -------
    callable
        ``visualize(X, y, step=None, log=None)`` returning a dict with ``cm``,
        ``accuracy``, ``per_class`` and ``mistakes`` (see
        :func:`pastalog.addons.report.report_confusion`).

    Examples
    --------
    >>> import numpy as np, torch
    >>> net = torch.nn.Linear(4, 2)
    >>> class Recorder:
    ...     def write(self, series, value, step=None): pass
    ...     def image(self, name, img, step=None): pass
    >>> out = confusion_matrix(net, Recorder(), ["no", "yes"])(np.eye(4), [0, 1, 0, 1])
    >>> int(out["cm"].sum())
    4
    """
    built_log = log

    def visualize(X, y, step=None, log=None):
        """Log the confusion matrix and mistakes of ``X`` against labels ``y``."""
        target = check_log(log, built_log)
        x, x_np = as_input(X, model)
        probs = predict_probs(model, x, batch_size)
        return report_confusion(target, probs, y, X=x_np, step=step, prefix=prefix,
                                class_names=class_names, top_k=top_k, max_per_row=max_per_row)

    visualize.needs_labels = True
    return visualize
