"""Visualization add-ons and ``watch`` for PyTorch modules.

The same four add-ons as :mod:`pastalog.lasagne_addons`, on the same
framework-free :mod:`pastalog.addons`, for any ``torch.nn.Module``: each takes
the model first and returns a function that computes and logs pictures and
series for a batch::

    import pastalog
    import pastalog.torch

    log = pastalog.Log(8120, "convnet")
    show_activations = pastalog.torch.activations(model, log=log)
    pastalog.torch.watch(model, log, every=100)
    ...
    show_activations(X_valid[:64], step=epoch)

- :func:`activations` -- layer statistics, feature maps, unit strips (forward
  hooks attached only during the call);
- :func:`saliency` -- gradients, integrated gradients or Grad-CAM (Captum);
- :func:`occlusion` -- occlusion heatmaps of the true class;
- :func:`confusion_matrix` -- confusion matrix and most common mistakes;
- :func:`watch` -- per-layer gradient and weight norms and histograms every few steps.

Every add-on runs the model in eval mode and restores each submodule's mode,
works under a ``torch.no_grad()`` caller, never changes the caller's tensors,
and takes inputs as tensors (any device: they go to the model's) or arrays.
Importing this package imports torch and raises ImportError naming the extra
to install when it is missing.
"""

from .activations import activations
from .occlusion import confusion_matrix, occlusion
from .saliency import saliency
from .watch import Watcher, watch

__all__ = ["Watcher", "activations", "confusion_matrix", "occlusion", "saliency", "watch"]
