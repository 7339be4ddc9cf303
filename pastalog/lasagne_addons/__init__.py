"""Visualization add-ons for Lasagne networks (Theano).

Each add-on takes layer references first and the input variable second,
compiles a Theano function, and returns a function that computes and logs
pictures and series for a batch::

    import pastalog
    from pastalog import lasagne_addons    # import before lasagne: see _compat

    log = pastalog.Log(8120, "convnet")
    show = lasagne_addons.activations(network, input_var, log=log)
    ...
    show(X_valid[:64], step=epoch)

- :func:`activations` -- layer statistics, feature maps, unit strips;
- :func:`occlusion` -- occlusion heatmaps of the true class;
- :func:`gradients` -- saliency maps;
- :func:`confusion_matrix` -- confusion matrix and most common mistakes.

The returned functions carry ``needs_labels`` (whether they take ``y`` after
``X``), which :mod:`pastalog.nolearn` uses to call them.  Importing this package
imports Theano and Lasagne and raises ImportError naming the extra to install
when they are missing.
"""

from .activations import activations
from .confusion import confusion_matrix
from .gradients import gradients
from .occlusion import occlusion

__all__ = ["activations", "confusion_matrix", "gradients", "occlusion"]
