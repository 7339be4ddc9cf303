"""Confusion matrices and the most common mistakes, from labels and predictions.

The counting is numpy; the pictures use matplotlib (numbers in cells and
labelled rows are what a plain pixel grid cannot show), rendered off-screen.
"""

import numpy as np

from ._mpl import new_figure, render
from .images import to_display

__all__ = [
    "class_labels",
    "confusion_counts",
    "confusion_image",
    "mistakes_image",
    "per_class_accuracy",
    "top_confusions",
]


def confusion_counts(y_true, y_pred, n_classes=None):
    """Count (true, predicted) pairs.

    Parameters
    ----------
    y_true, y_pred : array_like of int, shape (N,)
    n_classes : int, optional
        Matrix size; by default one more than the largest label seen.

    Returns
    -------
    numpy.ndarray, shape (K, K), int64
        ``cm[i, j]``: examples of class ``i`` predicted as ``j``.

    Examples
    --------
    >>> confusion_counts([0, 0, 1, 1], [0, 1, 1, 1]).tolist()
    [[1, 1], [0, 2]]
    """
    t = np.asarray(y_true).astype(np.int64).reshape(-1)
    p = np.asarray(y_pred).astype(np.int64).reshape(-1)
    if t.shape != p.shape:
        raise ValueError("y_true has %d labels but y_pred %d" % (len(t), len(p)))
    if len(t) and min(t.min(), p.min()) < 0:
        raise ValueError("class labels must be >= 0, got %d" % min(t.min(), p.min()))
    seen = int(max(t.max(), p.max())) + 1 if len(t) else 0
    k = seen if n_classes is None else int(n_classes)
    if k < seen:
        raise ValueError("n_classes=%r but label %d was seen" % (n_classes, seen - 1))
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k).astype(np.int64)


def per_class_accuracy(cm):
    """Each class's recall: the diagonal over the row sums (NaN for empty rows).

    Examples
    --------
    >>> per_class_accuracy(np.array([[1, 1], [0, 2]])).tolist()
    [0.5, 1.0]
    """
    cm = np.asarray(cm, dtype=np.float64)
    rows = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(rows > 0, np.diag(cm) / rows, np.nan)


def top_confusions(cm, k=5):
    """The most frequent off-diagonal (true, predicted) pairs.

    Parameters
    ----------
    cm : array_like, (K, K)
    k : int
        At most this many pairs; pairs that never happened are left out.

    Returns
    -------
    list of (int, int, int)
        ``(true, predicted, count)``, most frequent first (ties: by class).

    Examples
    --------
    >>> top_confusions([[5, 2, 0], [0, 4, 3], [1, 0, 6]], k=2)
    [(1, 2, 3), (0, 1, 2)]
    """
    cm = np.asarray(cm)
    off = cm.copy()
    np.fill_diagonal(off, 0)
    pairs = [(int(i), int(j), int(off[i, j])) for i, j in zip(*np.nonzero(off))]
    pairs.sort(key=lambda t: (-t[2], t[0], t[1]))
    return pairs[: max(0, int(k))]


def class_labels(n_classes, class_names=None):
    """Display names of the classes: ``class_names`` or ``"0"``, ``"1"``, ...

    Examples
    --------
    >>> class_labels(3), class_labels(2, ["cat", "dog"])
    (['0', '1', '2'], ['cat', 'dog'])
    """
    if class_names is None:
        return [str(i) for i in range(n_classes)]
    names = [str(n) for n in class_names]
    if len(names) < n_classes:
        raise ValueError(
            "class_names has %d names for %d classes: %r" % (len(names), n_classes, class_names)
        )
    return names[:n_classes]


def confusion_image(cm, class_names=None):
    """Draw the counts and the row-normalised matrix side by side.

    Parameters
    ----------
    cm : array_like, (K, K)
    class_names : sequence of str, optional

    Returns
    -------
    numpy.ndarray, uint8, (H, W, 3)

    Examples
    --------
    >>> confusion_image([[3, 1], [0, 4]]).shape[2]
    3
    """
    cm = np.asarray(cm)
    k = cm.shape[0]
    names = class_labels(k, class_names)
    rows = cm.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        norm = np.where(rows > 0, cm / np.maximum(rows, 1), 0.0)
    side = min(7.0, 2.0 + 0.4 * k)
    fig = new_figure(2 * side + 0.8, side + 0.5, dpi=80)
    show_numbers = k <= 20
    for pos, (title, data, fmt) in enumerate(
        [("counts", cm, "%d"), ("row-normalised", norm, "%.2f")]
    ):
        ax = fig.add_subplot(1, 2, pos + 1)
        vmax = 1.0 if pos else max(1, int(cm.max()))
        ax.imshow(data, cmap="Blues", vmin=0, vmax=vmax, interpolation="nearest")
        ax.set_title(title)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_xticks(range(k))
        ax.set_yticks(range(k))
        ax.set_xticklabels(names, rotation=90 if max(map(len, names)) > 3 else 0)
        ax.set_yticklabels(names)
        if show_numbers:
            size = max(5, 11 - k // 3)
            for i in range(k):
                for j in range(k):
                    if cm[i, j] == 0:
                        continue  # empty cells stay blank: the eye finds the errors
                    dark = data[i, j] > 0.6 * vmax
                    ax.text(j, i, fmt % data[i, j], ha="center", va="center",
                            fontsize=size, color="white" if dark else "black")
    fig.tight_layout()
    return render(fig)


def mistakes_image(X, confusions, class_names=None, max_per_row=8):
    """One row per confusion: the examples of that mistake, surest first.

    Parameters
    ----------
    X : array_like, (N, C, H, W) or (N, H, W)
        The inputs the indices refer to.
    confusions : list of (int, int, sequence of int, sequence of float)
        ``(true, predicted, indices, confidences)``, rows in display order;
        ``indices`` sorted by falling ``confidences`` (the probability given to
        the wrong class).
    class_names : sequence of str, optional
    max_per_row : int

    Returns
    -------
    numpy.ndarray, uint8, (H, W, 3)

    Examples
    --------
    >>> X = np.zeros((2, 1, 8, 8))
    >>> mistakes_image(X, [(1, 7, [0, 1], [0.9, 0.6])]).dtype.name
    'uint8'
    """
    if not confusions:
        raise ValueError("mistakes_image needs at least one confusion, got %r" % (confusions,))
    X = np.asarray(X)
    n_classes = 1 + max(max(t, p) for t, p, _, _ in confusions)
    names = class_labels(n_classes, class_names)
    ncols = max(1, min(int(max_per_row), max(len(ix) for _, _, ix, _ in confusions)))
    nrows = len(confusions)
    fig = new_figure(1.0 + 1.1 * ncols, 0.4 + 1.25 * nrows)
    for r, (t, p, idx, conf) in enumerate(confusions):
        for c in range(ncols):
            ax = fig.add_subplot(nrows, ncols, r * ncols + c + 1)
            ax.set_xticks([])
            ax.set_yticks([])
            if c < len(idx):
                ax.imshow(to_display(X[idx[c]]), interpolation="nearest")
                ax.set_title("p=%.2f" % conf[c], fontsize=8)
            else:
                ax.axis("off")
            if c == 0:
                ax.set_ylabel("%s\u2192%s\n(%d)" % (names[t], names[p], len(idx)), fontsize=9)
    fig.tight_layout()
    return render(fig)
