"""Occlusion sensitivity: slide a patch over inputs, record the class's drop.

For each input, copies are made with a square patch set to a fill value at
every position of a grid; the model's probability of the true class on each
copy is compared with the probability on the intact input.  A pixel's value in
the heatmap is the mean drop over all the patches that covered it: large where
hiding the pixel hurts the prediction, negative where hiding it helps.

The copies of several inputs go through the model together, in batches of
``batch_size`` (``predict`` is called once per batch, never per copy).
Framework-free: ``predict`` is any callable from a float array ``(N, ...)`` to
class probabilities ``(N, K)``.
"""

import numpy as np

from .images import apply_colormap, blend, hstack, to_display, upscale

__all__ = [
    "default_patch",
    "occlusion_maps",
    "occlusion_panel",
    "occlusion_positions",
]


def default_patch(height, width):
    """A patch size and stride suited to an input's size.

    A quarter of the shorter side (7 for 28x28, 8 for 32x32, 2 for 8x8) and a
    third of that as stride, at least 1.

    Parameters
    ----------
    height, width : int

    Returns
    -------
    (int, int)
        ``(patch, stride)``.

    Examples
    --------
    >>> default_patch(28, 28), default_patch(32, 32), default_patch(8, 8)
    ((7, 2), (8, 2), (2, 1))
    """
    patch = max(2, min(int(height), int(width)) // 4)
    return patch, max(1, patch // 3)


def occlusion_positions(height, width, patch, stride):
    """Top-left corners of the patches, covering the whole image.

    The last row and column of patches touch the bottom and right edges even
    when the stride does not divide evenly.

    Parameters
    ----------
    height, width : int
        Image size.
    patch : int
        Side of the square patch (at most the image's shorter side).
    stride : int
        Step between patches, at least 1.

    Returns
    -------
    numpy.ndarray, shape (P, 2), int
        ``(y, x)`` rows.

    Examples
    --------
    >>> occlusion_positions(4, 4, 2, 2).tolist()
    [[0, 0], [0, 2], [2, 0], [2, 2]]
    >>> len(occlusion_positions(5, 5, 2, 2))
    9
    """
    patch, stride = int(patch), int(stride)
    if not 1 <= patch <= min(height, width):
        raise ValueError(
            "patch must be between 1 and the image's shorter side %d, not %r"
            % (min(height, width), patch)
        )
    if stride < 1:
        raise ValueError("stride must be >= 1, not %r" % (stride,))

    def starts(size):
        s = list(range(0, size - patch + 1, stride))
        if s[-1] != size - patch:
            s.append(size - patch)
        return s

    ys, xs = starts(height), starts(width)
    return np.array([(y, x) for y in ys for x in xs], dtype=np.int64)


def occlusion_maps(predict, X, y, patch=None, stride=None, fill_value=0.0, batch_size=256):
    """Occlusion heatmaps for a batch of inputs.

    Parameters
    ----------
    predict : callable
        ``predict(batch) -> probabilities`` with ``batch`` shaped like ``X``
        (fewer rows) and the result ``(rows, K)``.
    X : numpy.ndarray, shape (N, ..., H, W)
        Inputs; the patch covers the last two axes and every channel.
    y : array_like of int, shape (N,)
        The true class of each input.
    patch, stride : int, optional
        Patch side and step; :func:`default_patch` by default.
    fill_value : float
        What the occluded pixels are set to (0: black for inputs in [0, 1],
        the mean for zero-centred inputs).
    batch_size : int
        Occluded copies per call of ``predict``.

    Returns
    -------
    heatmaps : numpy.ndarray, shape (N, H, W)
        Mean drop of the true class's probability where each pixel was hidden.
    base : numpy.ndarray, shape (N,)
        The true class's probability on the intact inputs.

    Examples
    --------
    A "model" that looks only at the top-left pixel:

    >>> def predict(b):
    ...     p = b[:, 0, 0, 0].astype(float)
    ...     return np.stack([1 - p, p], axis=1)
    >>> X = np.zeros((1, 1, 4, 4)); X[0, 0, 0, 0] = 1
    >>> heat, base = occlusion_maps(predict, X, [1], patch=2, stride=2)
    >>> base.tolist(), float(heat[0, 0, 0]), float(heat[0, 3, 3])
    ([1.0], 1.0, 0.0)
    """
    X = np.asarray(X)
    if X.ndim < 3:
        raise ValueError("occlusion needs inputs shaped (N, [C,] H, W), got shape %r" % (X.shape,))
    y = np.asarray(y).astype(np.int64).reshape(-1)
    if len(y) != len(X):
        raise ValueError("y has %d labels for %d inputs" % (len(y), len(X)))
    if int(batch_size) < 1:
        raise ValueError("batch_size must be >= 1, not %r" % (batch_size,))
    n, height, width = len(X), X.shape[-2], X.shape[-1]
    d_patch, d_stride = default_patch(height, width)
    patch = d_patch if patch is None else int(patch)
    stride = d_stride if stride is None else int(stride)
    positions = occlusion_positions(height, width, patch, stride)
    n_pos = len(positions)

    base = _class_probs(predict(X), y)
    drops = np.empty((n, n_pos), dtype=np.float64)
    total = n * n_pos
    for start in range(0, total, int(batch_size)):
        idx = np.arange(start, min(total, start + int(batch_size)))
        ex, pos = np.divmod(idx, n_pos)
        batch = X[ex].copy()
        for row, (py, px) in enumerate(positions[pos]):
            batch[row, ..., py : py + patch, px : px + patch] = fill_value
        drops[ex, pos] = base[ex] - _class_probs(predict(batch), y[ex])

    heat = np.zeros((n, height, width))
    count = np.zeros((height, width))
    for p, (py, px) in enumerate(positions):
        heat[:, py : py + patch, px : px + patch] += drops[:, p, None, None]
        count[py : py + patch, px : px + patch] += 1
    return heat / count, base


def _class_probs(probs, y):
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or len(probs) != len(y):
        raise ValueError(
            "predict must return (rows, classes) for %d rows, got shape %r" % (len(y), probs.shape)
        )
    return probs[np.arange(len(y)), y]


def occlusion_panel(image, heatmap, alpha=0.6, min_size=112):
    """The input beside the input overlaid with its occlusion heatmap.

    Red: hiding the region lowers the true class's probability; blue: hiding
    it raises it.  The colour scale is symmetric around zero.

    Parameters
    ----------
    image : array_like, (H, W) or (C, H, W)
    heatmap : array_like, (H, W)
    alpha : float
        Opacity of the heatmap where it is strongest; weaker values are
        drawn more transparent.
    min_size : int
        Enlarge (whole pixels) until the image is at least this tall.

    Returns
    -------
    numpy.ndarray, uint8, (H', W', 3)

    Examples
    --------
    >>> occlusion_panel(np.zeros((1, 8, 8)), np.ones((8, 8)), min_size=16).shape
    (16, 34, 3)
    """
    base = to_display(image)
    heat = np.asarray(heatmap, dtype=np.float64)
    if heat.shape != base.shape[:2]:
        raise ValueError(
            "heatmap shape %r does not match the image's %r" % (heat.shape, base.shape[:2])
        )
    if not 0.0 <= alpha <= 1.0:
        raise ValueError("alpha must be in [0, 1], not %r" % (alpha,))
    m = float(np.nanmax(np.abs(heat))) if heat.size else 0.0
    scale = m if m > 0 else 1.0
    # Colour only where the heatmap is strong: each pixel's opacity grows with
    # |heat|, so the input stays readable where occlusion changed nothing.
    colored = apply_colormap(heat, "diverging", lo=-scale, hi=scale)
    weight = alpha * np.clip(np.abs(np.nan_to_num(heat)) / scale, 0.0, 1.0)
    overlay = blend(base, colored, weight)
    zoom = max(1, -(-int(min_size) // base.shape[0]))
    return hstack([upscale(base, zoom), upscale(overlay, zoom)])
