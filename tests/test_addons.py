"""Unit tests of the framework-free add-on parts (pastalog.addons, pastalog.nolearn).

The log here is a recorder object with ``write``/``image`` -- the boundary the
add-ons talk to; the Theano bindings are tested against a real server in
tests/legacy/.
"""

import doctest
import importlib
import importlib.util
import math

import numpy as np
import pytest

pytest.importorskip("matplotlib", reason="the add-ons draw with matplotlib (extra 'images')")

from pastalog import addons  # noqa: E402
from pastalog.addons import activations, confusion, images, occlusion, report, saliency  # noqa: E402
from pastalog.nolearn import PastalogCallback  # noqa: E402


class Recorder:
    """Records what an add-on logs: ``points[(series, step)]``, ``images[(name, step)]``."""

    def __init__(self):
        self.points, self.images = {}, {}

    def write(self, series, value, step=None):
        assert isinstance(value, float), (series, value)
        self.points[(series, step)] = value

    def image(self, name, img, step=None):
        img = np.asarray(img)
        assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3, (name, img.shape)
        self.images[(name, step)] = img

    def series(self):
        return sorted({s for s, _ in self.points})


MODULES = ["pastalog.addons.images", "pastalog.addons.activations", "pastalog.addons.occlusion",
           "pastalog.addons.saliency", "pastalog.addons.confusion", "pastalog.addons.report",
           "pastalog.addons._mpl", "pastalog.nolearn"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


@pytest.mark.parametrize("name", MODULES + ["pastalog.addons"])
def test_every_module_declares_all(name):
    module = importlib.import_module(name)
    assert module.__all__ == sorted(module.__all__)
    for public in module.__all__:
        assert hasattr(module, public), public


# --- images ---------------------------------------------------------------

def test_colormaps_run_from_first_to_last_anchor():
    for name, anchors in images.COLORMAPS.items():
        img = images.apply_colormap(np.array([[0.0, 0.5, 1.0]]), name)
        assert img[0, 0].tolist() == list(anchors[0])
        assert img[0, 2].tolist() == list(anchors[-1])


def test_normalize_handles_nan_inf_and_constants():
    out = images.normalize([np.nan, 1.0, np.inf, 3.0])
    assert out.tolist() == [0.0, 0.0, 0.0, 1.0]
    assert images.normalize(np.full((2, 2), 7.0)).max() == 0.0


def test_bad_arguments_quote_the_value():
    with pytest.raises(ValueError, match="'rainbow'"):
        images.apply_colormap([[1.0]], "rainbow")
    with pytest.raises(ValueError, match=r"\(2, 2, 2, 2\)"):
        images.to_display(np.zeros((2, 2, 2, 2)))
    with pytest.raises(ValueError, match="0"):
        images.upscale(np.zeros((2, 2)), 0)


def test_image_grid_places_tiles_in_rows():
    tiles = np.stack([np.full((2, 2, 3), v, np.uint8) for v in (10, 20, 30)])
    grid = images.image_grid(tiles, ncols=2, pad=1, pad_value=0)
    assert grid.shape == (7, 7, 3)
    assert grid[1, 1, 0] == 10 and grid[1, 4, 0] == 20 and grid[4, 1, 0] == 30
    assert grid[4, 4, 0] == 0  # the empty fourth cell


def test_to_display_channels():
    rgb = np.zeros((3, 2, 2))
    rgb[0] = 1.0
    shown = images.to_display(rgb)
    assert shown[0, 0].tolist() == [255, 0, 0]
    assert images.to_display(np.arange(784.0)).shape == (28, 28, 3)


# --- activations ---------------------------------------------------------

def test_activation_stats_count_dead_units():
    a = np.maximum(np.random.RandomState(0).randn(50, 20), 0)
    a[:, :5] = 0  # five dead units
    stats = activations.activation_stats(a)
    assert stats["zero_fraction"] >= 0.25
    assert stats["min"] == 0.0 and stats["max"] == a.max()
    assert math.isclose(stats["mean"], a.mean()) and math.isclose(stats["std"], a.std())


def test_activation_images_by_shape():
    kind, img = activations.activation_image(np.random.rand(4, 6, 5, 5))
    assert kind == "feature_maps" and img.dtype == np.uint8
    kind, img = activations.activation_image(np.random.rand(64, 10))
    assert kind == "units" and img.shape[1] >= img.shape[0]  # wide, readable strip
    assert activations.activation_image(np.float32(3.0)) is None


# --- occlusion -----------------------------------------------------------

class CountingModel:
    """Class 1's probability is the mean of the top-left 3x3 corner."""

    def __init__(self):
        self.batch_sizes = []

    def __call__(self, batch):
        self.batch_sizes.append(len(batch))
        p = np.clip(batch[:, 0, :3, :3].mean(axis=(1, 2)), 0, 1)
        return np.stack([1 - p, p], axis=1)


def test_occlusion_batches_the_copies_and_finds_the_region():
    model = CountingModel()
    X = np.ones((3, 1, 12, 12))
    heat, base = occlusion.occlusion_maps(model, X, [1, 1, 1], patch=3, stride=1,
                                          batch_size=64)
    n_positions = 10 * 10
    # One call for the intact inputs, then full batches of occluded copies.
    assert model.batch_sizes[0] == 3
    assert sum(model.batch_sizes[1:]) == 3 * n_positions
    assert max(model.batch_sizes[1:]) == 64 and len(model.batch_sizes) == 1 + 5
    assert base.tolist() == [1.0, 1.0, 1.0]
    assert heat.shape == (3, 12, 12)
    assert heat[:, :3, :3].min() > 0.2 and np.all(heat[:, 6:, 6:] == 0)


def test_occlusion_positions_cover_the_edges():
    pos = occlusion.occlusion_positions(28, 28, 7, 2)
    assert pos[:, 0].max() == 21 and pos[:, 1].max() == 21 and len(pos) == 12 * 12
    with pytest.raises(ValueError, match="40"):
        occlusion.occlusion_positions(28, 28, 40, 2)


def test_occlusion_panel_keeps_quiet_pixels_as_the_input():
    heat = np.zeros((8, 8))
    heat[0, 0] = 1.0
    x = np.random.RandomState(1).rand(1, 8, 8)
    panel = occlusion.occlusion_panel(x, heat, min_size=8)
    left, right = panel[:, :8], panel[:, 10:]
    assert np.array_equal(left[1:, 1:], right[1:, 1:])  # untouched where heat is 0
    assert right[0, 0, 0] > right[0, 0, 2]  # red where hiding hurt


# --- saliency -----------------------------------------------------------

def test_saliency_is_abs_max_over_channels_and_grid_draws():
    g = np.zeros((2, 3, 4, 4))
    g[0, 1, 2, 2] = -5.0
    g[0, 2, 2, 2] = 1.0
    maps = saliency.saliency_maps(g)
    assert maps.shape == (2, 4, 4) and maps[0, 2, 2] == 5.0
    grid = saliency.saliency_grid(np.zeros((2, 3, 4, 4)), maps, min_size=4)
    assert grid.dtype == np.uint8


# --- confusion ----------------------------------------------------------

def test_confusion_counts_match_a_loop():
    rng = np.random.RandomState(2)
    t, p = rng.randint(0, 4, 200), rng.randint(0, 4, 200)
    cm = confusion.confusion_counts(t, p, 5)
    expected = np.zeros((5, 5), int)
    for a, b in zip(t, p):
        expected[a, b] += 1
    assert np.array_equal(cm, expected)
    acc = confusion.per_class_accuracy(cm)
    assert np.isnan(acc[4]) and math.isclose(acc[0], expected[0, 0] / expected[0].sum())


def test_report_confusion_orders_mistakes_by_frequency_then_confidence():
    # true 2 -> predicted 0 three times (confidences .6 .9 .7), 1 -> 0 once.
    probs = np.array([[.9, .05, .05], [.1, .8, .1], [.1, .1, .8],
                      [.6, .1, .3], [.9, .0, .1], [.7, .1, .2], [.8, .2, .0]])
    y = [0, 1, 2, 2, 2, 2, 1]
    r = Recorder()
    out = report.report_confusion(r, probs, y, X=np.zeros((7, 1, 8, 8)), step=5,
                                  class_names=["cat", "dog", "owl"])
    assert out["mistakes"][0][:3] == (2, 0, [4, 5, 3])
    assert out["mistakes"][1][:3] == (1, 0, [6])
    assert r.points[("confusion/accuracy/owl", 5)] == 0.25
    assert r.points[("confusion/accuracy", 5)] == 3 / 7
    assert {n for n, _ in r.images} == {"confusion/matrix", "confusion/mistakes"}


def test_report_confusion_without_mistakes_logs_no_mistakes_image():
    r = Recorder()
    report.report_confusion(r, np.eye(3), [0, 1, 2], X=np.zeros((3, 8, 8)))
    assert {n for n, _ in r.images} == {"confusion/matrix"}


def test_figures_do_not_touch_pyplot():
    confusion.confusion_image(np.eye(4, dtype=int) * 3)
    import sys
    if "matplotlib.pyplot" in sys.modules:
        assert sys.modules["matplotlib.pyplot"].get_fignums() == []


# --- report ------------------------------------------------------------------

def test_report_activations_names_series_and_images():
    r = Recorder()
    outs = [("conv1", np.random.rand(4, 3, 6, 6)), ("fc", np.random.rand(4, 10))]
    report.report_activations(r, outs, step=2, prefix="net")
    assert r.series() == sorted("net/%s/%s" % (layer, s) for layer in ("conv1", "fc")
                                for s in activations.STAT_NAMES)
    assert set(r.images) == {("net/conv1/feature_maps", 2), ("net/fc/units", 2)}


def test_report_occlusion_logs_one_panel_per_example():
    r = Recorder()
    report.report_occlusion(r, CountingModel(), np.ones((6, 1, 12, 12)), [1] * 6, step=1,
                            max_examples=3)
    assert {n for n, _ in r.images} == {"occlusion/0", "occlusion/1", "occlusion/2"}
    assert ("occlusion/max_drop", 1) in r.points


def test_write_scalars_prefers_write_many():
    calls = []

    class Batched(Recorder):
        def write_many(self, values, step=None):
            calls.append((values, step))

    report.write_scalars(Batched(), {"a": np.float32(1)}, step=3)
    assert calls == [({"a": 1.0}, 3)]


def test_check_log_rejects_non_logs_and_missing_logs():
    with pytest.raises(TypeError, match="'nope'"):
        report.check_log("nope")
    with pytest.raises(ValueError, match="log="):
        report.check_log(None, None)


def test_addons_package_exports():
    assert addons.__all__ == sorted(addons.__all__)


# --- nolearn callback ----------------------------------------------------

def history_row(epoch, **extra):
    row = {"epoch": epoch, "train_loss": 1.0 / epoch, "train_loss_best": np.bool_(True),
           "valid_loss": 1.5 / epoch, "valid_loss_best": np.bool_(False),
           "valid_accuracy": np.float64(0.5 + epoch / 100), "dur": 0.25}
    row.update(extra)
    return row


def test_callback_writes_every_number_of_the_newest_row():
    r = Recorder()
    cb = PastalogCallback(r)
    history = [history_row(1)]
    cb(None, history)
    history.append(history_row(2, kappa=np.float32(0.5), text="x", vec=np.arange(3)))
    cb(None, history)
    assert r.points[("train_loss_best", 1)] == 1.0
    assert r.points[("valid_loss_best", 2)] == 0.0
    assert r.points[("kappa", 2)] == 0.5
    assert ("text", 2) not in r.points and ("vec", 2) not in r.points
    assert ("epoch", 1) not in r.points
    assert sorted(s for s, step in r.points if step == 1) == [
        "dur", "train_loss", "train_loss_best", "valid_accuracy", "valid_loss",
        "valid_loss_best"]


def test_callback_in_both_lists_counts_batches_between_epochs():
    r = Recorder()
    cb = PastalogCallback(r)
    history = []
    for epoch in (1, 2):
        for _ in range(3):
            cb(None, history)          # on_batch_finished
        history.append(history_row(epoch, valid_loss=float("nan")))
        cb(None, history)              # on_epoch_finished
    assert cb.batches == 6 and cb.rows_logged == 2
    batch_steps = sorted(step for s, step in r.points if s == "batch/seconds")
    assert batch_steps == [2, 3, 5, 6]  # the first batch of an epoch has no predecessor
    assert math.isnan(r.points[("valid_loss", 2)])


def test_callback_runs_visualizers_every_k_epochs_with_labels_when_needed():
    seen = []

    def needs_y(X, y, step=None, log=None):
        seen.append(("y", step, len(y)))
    needs_y.needs_labels = True

    def no_y(X, step=None, log=None):
        seen.append(("x", step))

    r = Recorder()
    cb = PastalogCallback(r, visualizers=[needs_y, no_y], X=np.zeros((4, 2)), y=[0, 1, 0, 1],
                          every=2)
    history = []
    for epoch in range(1, 6):
        history.append(history_row(epoch))
        cb.on_epoch_finished(None, history)
    assert seen == [("y", 1, 4), ("x", 1), ("y", 3, 4), ("x", 3), ("y", 5, 4), ("x", 5)]


def test_callback_argument_errors_quote_the_value():
    with pytest.raises(TypeError, match="3.5"):
        PastalogCallback(3.5)
    with pytest.raises(ValueError, match="0"):
        PastalogCallback(Recorder(), every=0)
    with pytest.raises(ValueError, match="X="):
        PastalogCallback(Recorder(), visualizers=[print])


def test_callback_opens_a_log_from_a_port():
    cb = PastalogCallback(8, "m")  # nothing listens there: Log never raises
    try:
        assert cb.log.model_name == "m"
    finally:
        cb.log.close(timeout=0)


@pytest.mark.skipif(importlib.util.find_spec("theano") is not None,
                    reason="Theano is installed here")
def test_lasagne_addons_without_theano_name_the_extra():
    with pytest.raises(ImportError, match=r"pastalog\[lasagne\]"):
        importlib.import_module("pastalog.lasagne_addons")
