"""Layer activations and statistics for PyTorch modules, through forward hooks."""

from ..addons.report import check_log, report_activations
from ._util import as_input, eval_mode, to_numpy, torch

__all__ = ["activations", "default_layers", "named_layers"]

_ACTIVATION_MODULES = "torch.nn.modules.activation"


def default_layers(model):
    """The layers :func:`activations` watches by default, as ``[(name, module)]``.

    Every leaf module that has parameters of its own, plus every activation
    module (``nn.ReLU``, ``nn.GELU``, ``nn.Tanh``, ...), in registration order.

    Examples
    --------
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Flatten())
    >>> [name for name, _ in default_layers(net)]
    ['0', '1']
    """
    chosen = []
    for name, module in model.named_modules():
        if any(True for _ in module.children()):
            continue
        has_params = any(True for _ in module.parameters(recurse=False))
        if has_params or type(module).__module__ == _ACTIVATION_MODULES:
            chosen.append((name or type(module).__name__, module))
    return chosen


def named_layers(model, layers=None):
    """Resolve the ``layers`` argument to ``[(name, module), ...]``.

    Parameters
    ----------
    model : torch.nn.Module
    layers : None, sequence of str or nn.Module, or dict
        None: :func:`default_layers`.  Names are the model's own
        (``named_modules``: ``"conv1"``, ``"features.0"``); modules are named
        by where they sit in the model; a dict maps names to modules.

    Examples
    --------
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU())
    >>> [n for n, _ in named_layers(net, ["1", net[0]])]
    ['1', '0']
    >>> named_layers(net, ["nope"])
    Traceback (most recent call last):
    ...
    ValueError: no layer named 'nope' in the model; it has: '0', '1'
    """
    if layers is None:
        chosen = default_layers(model)
    elif isinstance(layers, dict):
        chosen = [(str(k), v) for k, v in layers.items()]
    else:
        if isinstance(layers, (str, torch.nn.Module)):
            layers = [layers]
        modules = dict(model.named_modules())
        names = {id(m): n for n, m in reversed(list(modules.items()))}
        chosen = []
        for item in layers:
            if isinstance(item, str):
                if item not in modules or item == "":
                    raise ValueError("no layer named %r in the model; it has: %s"
                                     % (item, ", ".join(repr(n) for n in modules if n)))
                chosen.append((item, modules[item]))
            elif isinstance(item, torch.nn.Module):
                if id(item) not in names:
                    raise ValueError("layer %r is not part of the model" % (item,))
                chosen.append((names[id(item)] or type(item).__name__, item))
            else:
                raise TypeError("layers must hold layer names or nn.Modules, not %r" % (item,))
    if not chosen:
        raise ValueError("no layers to watch: pass layers= (names or modules)")
    for name, module in chosen:
        if not isinstance(module, torch.nn.Module):
            raise TypeError("layer %r is not an nn.Module: %r" % (name, module))
    return chosen


def _first_tensor(output):
    # Modules may return tuples (an LSTM's (output, (h, c))): take the first tensor.
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)):
        for item in output:
            found = _first_tensor(item)
            if found is not None:
                return found
    return None


def activations(model, log=None, layers=None, prefix="", images=True):
    """Build a function that logs the chosen layers' outputs for a batch.

    Forward hooks are attached only while the returned function runs (one
    forward pass in eval mode, without gradients), so training steps in
    between pay nothing.  Each call logs, per layer, the series
    ``<layer>/mean``, ``/std``, ``/min``, ``/max`` and ``/zero_fraction`` (dead
    ReLUs), the histogram ``<layer>/activations`` of its outputs (when ``log``
    has ``histogram``), and an image: for convolutional layers a grid of the first
    example's feature maps (``<layer>/feature_maps``), for dense layers a heat
    strip of the units over the batch (``<layer>/units``).

    Parameters
    ----------
    model : torch.nn.Module
    log : pastalog.Log, optional
        Where to log; or give it to each call.
    layers : None, list of str or nn.Module, or dict
        See :func:`named_layers`; default: every leaf layer with parameters
        and every activation module.
    prefix : str
        Prepended (with ``/``) to every name.
    images : bool
        Log the pictures too, not only the statistics.

    Returns
    -------
    callable
        ``visualize(X, step=None, log=None) -> {layer name: stats}``, with
        ``layer_names`` and ``needs_labels = False`` attributes.

    Examples
    --------
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU())
    >>> class Recorder:
    ...     def __init__(self): self.points = {}
    ...     def write(self, series, value, step=None): self.points[series] = value
    ...     def image(self, name, img, step=None): pass
    >>> visualize = activations(net, log=Recorder())
    >>> sorted(visualize(torch.ones(2, 3), step=0)["1"])
    ['max', 'mean', 'min', 'std', 'zero_fraction']
    """
    named = named_layers(model, layers)
    names = [n for n, _ in named]
    built_log = log

    def visualize(X, step=None, log=None):
        """Log the layers' statistics and pictures for the batch ``X``."""
        target = check_log(log, built_log)
        x, _ = as_input(X, model)
        captured = {}
        handles = []

        def hook_for(name):
            def hook(module, inputs, output):
                tensor = _first_tensor(output)
                if tensor is not None and name not in captured:  # the first call counts
                    captured[name] = to_numpy(tensor)
            return hook

        try:
            for name, module in named:
                handles.append(module.register_forward_hook(hook_for(name)))
            with torch.no_grad(), eval_mode(model):
                model(x)
        finally:
            for handle in handles:
                handle.remove()
        outputs = [(name, captured[name]) for name in names if name in captured]
        return report_activations(target, outputs, step=step, prefix=prefix, images=images)

    visualize.needs_labels = False
    visualize.layer_names = names
    return visualize
