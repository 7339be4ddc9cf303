"""Attribution maps for PyTorch classifiers: gradients, integrated gradients, Grad-CAM.

The attributions come from Captum (``captum.attr``), the PyTorch field's
attribution library; pastalog adds the model handling (eval mode restored,
gradients on even under a ``torch.no_grad()`` caller, the caller's tensors
untouched) and the pictures (:func:`pastalog.addons.report.report_saliency`).
"""

import numpy as np

from ..addons.report import check_log, report_saliency
from ._util import as_input, eval_mode, predict_probs, require_captum, to_numpy, torch
from .activations import named_layers

__all__ = ["METHODS", "attribute", "saliency"]

#: Attribution methods, and the image prefix each logs under by default.
METHODS = {"gradient": "saliency", "integrated_gradients": "integrated_gradients",
           "grad_cam": "grad_cam"}


def attribute(model, X, classes=None, method="gradient", layer=None, steps=32, baseline=0.0,
              internal_batch_size=256):
    """Attributions of each example's class score to its input pixels.

    Parameters
    ----------
    model : torch.nn.Module
        Outputs class scores ``(N, classes)``; the score explained is that
        output (use logits, not a softmax: Simonyan et al. 2014).
    X : torch.Tensor or array_like, (N, ...)
    classes : array_like of int, optional
        The class to explain per example; default: the predicted one.
    method : {"gradient", "integrated_gradients", "grad_cam"}
        ``gradient``: the score's input gradient (Captum ``Saliency``);
        ``integrated_gradients``: the gradient averaged along the straight
        path from ``baseline`` to the input, times (input - baseline), in
        ``steps`` steps (Sundararajan et al. 2017); ``grad_cam``: the
        ``layer``'s channels weighted by their mean gradient, ReLU'd and
        upsampled to the input (Selvaraju et al. 2017).
    layer : str or nn.Module, optional
        The convolutional layer for ``grad_cam`` (required there).
    steps : int
        Integrated gradients' path steps.
    baseline : float
        Integrated gradients' starting input (all pixels this value).
    internal_batch_size : int
        Path points per forward pass for integrated gradients (at least the
        batch's size: Captum's rule).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, numpy.ndarray)
        The attributions (``X``'s shape; ``(N, 1, H, W)`` for Grad-CAM), the
        inputs as numpy, and the classes explained.

    Examples
    --------
    >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
    >>> attr, x, classes = attribute(net, np.ones((3, 1, 2, 2)), classes=[0, 1, 1])
    >>> attr.shape, classes.tolist()
    ((3, 1, 2, 2), [0, 1, 1])
    """
    if method not in METHODS:
        raise ValueError("method must be one of %s, not %r" % (", ".join(sorted(METHODS)), method))
    attr_mod = require_captum()
    with torch.inference_mode(False):  # gradients even under an inference_mode caller
        return _attribute(attr_mod, model, X, classes, method, layer, steps, baseline,
                          internal_batch_size)


def _attribute(attr_mod, model, X, classes, method, layer, steps, baseline, internal_batch_size):
    x, x_np = as_input(X, model)
    if len(x) == 0:
        raise ValueError("attribute needs a non-empty batch")
    if classes is None:
        classes = predict_probs(model, x).argmax(axis=1)
    classes = np.asarray(classes).astype(np.int64).reshape(-1)
    if len(classes) != len(x):
        raise ValueError("classes has %d entries for %d inputs" % (len(classes), len(x)))
    target = torch.as_tensor(classes, device=x.device)
    if x.is_floating_point():
        x.requires_grad_()  # our own copy (as_input): saves Captum a warning
    with torch.enable_grad(), eval_mode(model):
        if method == "gradient":
            attr = attr_mod.Saliency(model).attribute(x, target=target, abs=False)
        elif method == "integrated_gradients":
            if int(steps) < 2:
                raise ValueError("steps must be >= 2, not %r" % (steps,))
            attr = attr_mod.IntegratedGradients(model).attribute(
                x, baselines=float(baseline), target=target, n_steps=int(steps),
                internal_batch_size=max(len(x), int(internal_batch_size)))
        else:
            if layer is None:
                raise ValueError("grad_cam needs layer= (a convolutional layer's name or module)")
            (_, module), = named_layers(model, [layer])
            cam = attr_mod.LayerGradCam(model, module).attribute(x, target=target,
                                                                 relu_attributions=True)
            if cam.ndim != 4:
                raise ValueError("grad_cam needs a layer with (N, C, H, W) output; %r gives %r"
                                 % (layer, tuple(cam.shape)))
            attr = attr_mod.LayerAttribution.interpolate(cam, tuple(x.shape[-2:]),
                                                         interpolate_mode="bilinear")
    return to_numpy(attr), x_np, classes


def saliency(model, log=None, method="gradient", layer=None, steps=32, baseline=0.0,
             max_examples=16, prefix=None):
    """Build a function that logs attribution maps of a classifier for a batch.

    Each call logs ``<prefix>/grid``: each input beside its absolute
    attribution (maximum over channels).  ``prefix`` defaults to
    ``saliency`` for gradients (as the Lasagne add-on), ``integrated_gradients``
    and ``grad_cam``; build one function per method to log several.  Works in
    eval mode and restores the model's train/eval state, turns gradients on
    under a ``torch.no_grad()`` caller, never touches the parameters' ``.grad``
    nor the caller's inputs.

    Parameters
    ----------
    model : torch.nn.Module
    log : pastalog.Log, optional
        Where to log; or give it to each call.
    method, layer, steps, baseline
        See :func:`attribute`.
    max_examples : int
        Pairs shown in the grid.
    prefix : str, optional

    Returns
    -------
    callable
        ``visualize(X, classes=None, step=None, log=None)``: ``classes`` are
        the classes to explain, one per example (default: the predicted
        ones); returns the maps, ``(N, H, W)``.

    Examples
    --------
    >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 3))
    >>> class Recorder:
    ...     def write(self, series, value, step=None): pass
    ...     def image(self, name, img, step=None): self.name = name
    >>> r = Recorder()
    >>> saliency(net, log=r)(np.random.rand(2, 1, 8, 8)).shape, r.name
    ((2, 8, 8), 'saliency/grid')
    """
    if method not in METHODS:
        raise ValueError("method must be one of %s, not %r" % (", ".join(sorted(METHODS)), method))
    if method == "grad_cam" and layer is None:
        raise ValueError("grad_cam needs layer= (a convolutional layer's name or module)")
    if layer is not None:
        named_layers(model, [layer])  # fail now, not at the first call
    prefix = METHODS[method] if prefix is None else prefix
    built_log = log

    def visualize(X, classes=None, step=None, log=None):
        """Log attribution maps of ``X`` for ``classes`` (default: predicted)."""
        target = check_log(log, built_log)
        attr, x_np, _ = attribute(model, X, classes, method=method, layer=layer, steps=steps,
                                  baseline=baseline)
        return report_saliency(target, x_np, attr, step=step, prefix=prefix,
                               max_examples=max_examples)

    visualize.needs_labels = False
    visualize.method = method
    return visualize
