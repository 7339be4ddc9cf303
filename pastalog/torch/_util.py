"""Helpers shared by the PyTorch add-ons: import, devices, eval mode, prediction."""

import contextlib

import numpy as np

__all__ = ["as_input", "eval_mode", "module_device", "predict_probs", "require_captum",
           "to_numpy", "to_probs", "torch"]

_EXTRA_HINT = "pastalog.torch needs PyTorch: pip install 'pastalog[torch]'"

try:
    import torch
except ImportError as exc:  # pragma: no cover - the message is the point
    raise ImportError(_EXTRA_HINT) from exc


def require_captum():
    """Import and return ``captum.attr`` (the attributions), or say what to install.

    Examples
    --------
    >>> hasattr(require_captum(), "IntegratedGradients")
    True
    """
    try:
        import captum.attr
    except ImportError as exc:
        raise ImportError("pastalog.torch.saliency needs Captum: pip install 'pastalog[torch]'"
                          ) from exc
    return captum.attr


def module_device(model):
    """``(device, floating dtype)`` of a module's first parameter or buffer.

    CPU and float32 for a module that has neither.

    Examples
    --------
    >>> module_device(torch.nn.Linear(2, 2))
    (device(type='cpu'), torch.float32)
    """
    for tensor in list(model.parameters()) + list(model.buffers()):
        if tensor.is_floating_point():
            return tensor.device, tensor.dtype
    return torch.device("cpu"), torch.float32


def as_input(X, model):
    """A batch as a fresh tensor on the model's device, and as a numpy array.

    ``X`` may be a tensor on any device, a numpy array or nested lists;
    floating tensors and all arrays take the model's floating dtype, integer
    tensors (token ids) keep theirs.  The
    tensor returned is detached and never the caller's own object, so nothing
    done to it (``requires_grad_``, moves) reaches the caller.

    Returns
    -------
    (torch.Tensor, numpy.ndarray)

    Examples
    --------
    >>> x, x_np = as_input([[1, 2]], torch.nn.Linear(2, 1))
    >>> x.dtype, x_np.shape
    (torch.float32, (1, 2))
    """
    device, dtype = module_device(model)
    if isinstance(X, torch.Tensor) and not X.is_floating_point():
        x = X.detach().to(device=device, copy=True)  # token ids: integer tensors keep their type
    else:
        x = X.detach() if isinstance(X, torch.Tensor) else torch.as_tensor(np.asarray(X))
        x = x.to(device=device, dtype=dtype, copy=True)
    return x, to_numpy(x)


def to_numpy(tensor):
    """A detached float32/float64 copy of a tensor on the CPU, as numpy.

    Examples
    --------
    >>> to_numpy(torch.ones(2, dtype=torch.float16)).dtype
    dtype('float32')
    """
    t = tensor.detach()
    if t.dtype not in (torch.float32, torch.float64):
        t = t.float()
    return t.cpu().numpy()


@contextlib.contextmanager
def eval_mode(model):
    """Put every submodule in eval mode for a block, then restore each one's flag.

    A model in training mode stays in it, and a model whose submodules mix
    modes (a frozen BatchNorm in a training network) gets them back as they
    were.

    Examples
    --------
    >>> net = torch.nn.Sequential(torch.nn.Dropout(0.5))
    >>> with eval_mode(net):
    ...     net.training
    False
    >>> net.training
    True
    """
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, flag in flags:
            m.training = flag


def to_probs(scores):
    """Class probabilities from a model's output: softmax unless they already are.

    Rows in [0, 1] that sum to 1 are taken as probabilities; anything else
    (logits, log-probabilities) goes through a softmax.

    Examples
    --------
    >>> to_probs(torch.tensor([[0.0, 0.0]])).tolist(), to_probs(torch.tensor([[0.25, 0.75]])).tolist()
    ([[0.5, 0.5]], [[0.25, 0.75]])
    """
    scores = scores.detach().float()
    if scores.ndim != 2:
        raise ValueError("the model must output (N, classes) scores, got shape %r"
                         % (tuple(scores.shape),))
    if (scores.numel() and bool((scores >= 0).all()) and bool((scores <= 1).all())
            and bool(torch.allclose(scores.sum(dim=1), torch.ones(len(scores), device=scores.device),
                                    atol=1e-3))):
        return scores
    return torch.softmax(scores, dim=1)


def predict_probs(model, x, batch_size=256):
    """Class probabilities of a batch, in chunks, without gradients, in eval mode.

    Parameters
    ----------
    model : torch.nn.Module
    x : torch.Tensor or array_like
        Moved to the model's device.
    batch_size : int

    Returns
    -------
    numpy.ndarray, (N, classes)

    Examples
    --------
    >>> predict_probs(torch.nn.Linear(3, 2), np.zeros((5, 3)), batch_size=2).shape
    (5, 2)
    """
    if int(batch_size) < 1:
        raise ValueError("batch_size must be >= 1, not %r" % (batch_size,))
    if not isinstance(x, torch.Tensor) or x.device != module_device(model)[0]:
        x, _ = as_input(x, model)
    chunks = []
    with torch.no_grad(), eval_mode(model):
        for start in range(0, len(x), int(batch_size)):
            chunks.append(to_numpy(to_probs(model(x[start:start + int(batch_size)]))))
    if not chunks:
        raise ValueError("predict_probs needs a non-empty batch")
    return np.concatenate(chunks)
