"""``watch``: per-layer gradient and weight norms and histograms every few steps, like
``wandb.watch``."""

import math

from ..addons.report import check_log, write_histogram, write_scalars
from ._util import torch

__all__ = ["WHAT", "Watcher", "watch"]

#: What :func:`watch` can log.
WHAT = ("gradients", "parameters", "all")


class Watcher:
    """Logs per-layer gradient and weight norms and histograms of a model; see
    :func:`watch`.

    Counts the model's forward passes in training mode with gradients on (one
    per training step); at every ``every``-th one it logs the weight norms and
    attaches one-shot hooks to the parameters, which log the gradient norms of
    that step's backward pass.  In between a step costs one Python call (the
    counting forward hook).

    Attributes
    ----------
    step : int
        Training forward passes counted so far (the step the next logs use).
    layers : list of str
        The layers whose norms are logged.
    """

    def __init__(self, model, log, every=100, what="gradients", prefix="", histograms=True):
        if what not in WHAT:
            raise ValueError("what must be one of %s, not %r" % (", ".join(WHAT), what))
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError("every must be an int >= 1, not %r" % (every,))
        if not isinstance(model, torch.nn.Module):
            raise TypeError("watch needs a torch.nn.Module, not %r" % (model,))
        self.model, self.log, self.every, self.what = model, check_log(log), every, what
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.histograms = bool(histograms)
        self.step = 0
        # (layer name, [(parameter, name)]) for every module with parameters of its own.
        self._groups = []
        for name, module in model.named_modules():
            params = [p for p in module.parameters(recurse=False) if p is not None]
            if params:
                self._groups.append((name or type(module).__name__, params))
        if not self._groups:
            raise ValueError("watch: the model has no parameters")
        self.layers = [name for name, _ in self._groups]
        self._pending = {}        # layer -> sum of squared gradient norms so far
        self._pending_grads = {}  # layer -> the gradients seen (for its histogram)
        self._pending_step = None
        self._grad_handles = []
        self._handle = model.register_forward_pre_hook(self._on_forward)

    def _on_forward(self, module, inputs):
        if not (module.training and torch.is_grad_enabled()):
            return None
        if self._pending_step is not None:
            self._flush_gradients()
        step = self.step
        self.step += 1
        if step % self.every == 0:
            if self.what in ("parameters", "all"):
                self._log_parameters(step)
            if self.what in ("gradients", "all"):
                self._attach_gradient_hooks(step)
        return None

    def _log_parameters(self, step, log=None):
        values = {}
        with torch.no_grad():
            for name, params in self._groups:
                sq = sum(float(p.detach().float().pow(2).sum()) for p in params)
                values["%sparameters/%s/norm" % (self.prefix, name)] = math.sqrt(sq)
        write_scalars(log or self.log, values, step=step)
        if self.histograms:
            for name, params in self._groups:
                self._histogram(log or self.log, "parameters", name, params, step)

    def _histogram(self, log, kind, name, tensors, step):
        """One layer's tensors, flattened together, as the histogram ``<kind>/<layer>``."""
        with torch.no_grad():
            flat = torch.cat([t.detach().reshape(-1).float() for t in tensors])
        write_histogram(log, "%s%s/%s" % (self.prefix, kind, name), flat, step=step)

    def _attach_gradient_hooks(self, step):
        self._pending_step = step
        self._pending = {}
        self._pending_grads = {}
        total = sum(1 for _, params in self._groups for p in params if p.requires_grad)
        self._expected = total
        self._seen = 0
        for name, params in self._groups:
            for p in params:
                if p.requires_grad:
                    self._grad_handles.append(p.register_hook(self._grad_hook(name)))

    def _grad_hook(self, name):
        def hook(grad):
            sq = float(grad.detach().float().pow(2).sum())
            self._pending[name] = self._pending.get(name, 0.0) + sq
            if self.histograms:
                self._pending_grads.setdefault(name, []).append(grad.detach())
            self._seen += 1
            if self._seen >= self._expected:
                self._flush_gradients()
            return None
        return hook

    def _flush_gradients(self):
        # Every hooked parameter reported (or the next step began: unused ones
        # got no gradient); write what was seen, and take the hooks off.
        for handle in self._grad_handles:
            handle.remove()
        self._grad_handles = []
        step, self._pending_step = self._pending_step, None
        if self._pending:
            values = {"%sgradients/%s/norm" % (self.prefix, name): math.sqrt(sq)
                      for name, sq in self._pending.items()}
            write_scalars(self.log, values, step=step)
        for name, grads in self._pending_grads.items():
            self._histogram(self.log, "gradients", name, grads, step)
        self._pending = {}
        self._pending_grads = {}

    def __call__(self, step=None, log=None):
        """Log now: weight norms and the norms of the parameters' current ``.grad``.

        Parameters
        ----------
        step : int, optional
            Default: the last counted training step.
        log : pastalog.Log, optional
        """
        target = check_log(log, self.log)
        step = max(0, self.step - 1) if step is None else step
        if self.what in ("parameters", "all"):
            self._log_parameters(step, target)
        if self.what in ("gradients", "all"):
            values = {}
            for name, params in self._groups:
                grads = [p.grad for p in params if p.grad is not None]
                if grads:
                    sq = sum(float(g.detach().float().pow(2).sum()) for g in grads)
                    values["%sgradients/%s/norm" % (self.prefix, name)] = math.sqrt(sq)
                    if self.histograms:
                        self._histogram(target, "gradients", name, grads, step)
            write_scalars(target, values, step=step)

    def remove(self):
        """Stop watching: take every hook off the model (``wandb.unwatch``)."""
        if self._pending_step is not None:
            self._flush_gradients()
        self._handle.remove()


def watch(model, log, every=100, what="gradients", prefix="", histograms=True):
    """Log a model's per-layer gradient and/or weight norms and histograms every ``every``
    steps.

    As ``wandb.watch`` does: call it once before training; nothing else
    changes in the loop.  A step is a forward pass of ``model`` in training
    mode with gradients enabled (evaluation passes do not count).  At steps
    0, ``every``, ``2 * every``, ... it logs the series
    ``parameters/<layer>/norm`` (the L2 norm of the layer's own parameters,
    weight and bias together) and ``gradients/<layer>/norm`` (the same for
    that step's gradients, read by one-shot hooks during the backward pass), and the
    histograms ``parameters/<layer>`` and ``gradients/<layer>`` of the same values
    (every weight and bias of the layer together) when ``log`` has ``histogram``.

    Parameters
    ----------
    model : torch.nn.Module
    log : pastalog.Log
    every : int
        Log every this many training steps.
    what : {"gradients", "parameters", "all"}
    prefix : str
        Prepended (with ``/``) to every name.
    histograms : bool
        Log the histograms too, not only the norms.

    Returns
    -------
    Watcher
        ``.remove()`` stops it; calling it, ``watcher(step)``, logs at once.

    Examples
    --------
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 2))
    >>> class Recorder:
    ...     def __init__(self): self.points = {}
    ...     def write(self, series, value, step=None): self.points[series, step] = value
    ...     def image(self, name, img, step=None): pass
    >>> r = Recorder()
    >>> watcher = watch(net, r, every=2, what="all")
    >>> for _ in range(3):
    ...     net(torch.ones(1, 2)).sum().backward()
    >>> sorted(r.points)
    [('gradients/0/norm', 0), ('gradients/0/norm', 2), ('parameters/0/norm', 0), ('parameters/0/norm', 2)]
    >>> watcher.remove()
    """
    return Watcher(model, log, every=every, what=what, prefix=prefix, histograms=histograms)
