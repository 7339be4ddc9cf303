"""The four add-ons on a really trained Lasagne net, logging to a real server.

The module trains examples/mnist_lasagne.py once (8x8 digits, a few epochs),
then checks what reached the store through the HTTP API.  The PNGs fetched
are left in .cache/legacy-images/ to look at.
"""

import doctest
import importlib
import struct

import numpy as np
import pytest

import pastalog
from pastalog import lasagne_addons

import lasagne
import theano.tensor as T

import mnist_lasagne

EPOCHS = 6
MODEL = "digits-convnet"
LAYERS = ["conv1", "pool1", "conv2", "pool2", "drop", "fc", "output"]


def png_size(raw):
    return struct.unpack(">II", raw[16:24])


@pytest.fixture(scope="module")
def trained(server):
    result = mnist_lasagne.main(num_epochs=EPOCHS, server=server.url, model_name=MODEL)
    assert result["delivered"]
    return result


def test_example_logs_curves_and_every_addon(trained, server, image_dir):
    series, images = server.model(MODEL)
    for name in ["train_loss", "valid_loss", "valid_accuracy", "occlusion/max_drop",
                 "confusion/accuracy"]:
        assert series[name]["count"] == EPOCHS, name
        assert (series[name]["first_step"], series[name]["last_step"]) == (1, EPOCHS)
    for layer in LAYERS:
        for stat in ["mean", "std", "min", "max", "zero_fraction"]:
            assert series["%s/%s" % (layer, stat)]["count"] == EPOCHS
    for digit in range(10):
        assert "confusion/accuracy/%d" % digit in series
    steps, values = server.series(MODEL, "train_loss")
    assert steps == list(range(1, EPOCHS + 1)) and values[-1] < values[0]

    expected = (["%s/feature_maps" % l for l in ["conv1", "pool1", "conv2", "pool2", "drop"]]
                + ["fc/units", "output/units", "saliency/grid", "confusion/matrix",
                   "confusion/mistakes"] + ["occlusion/%d" % i for i in range(4)])
    assert sorted(images) == sorted(expected)
    for name in expected:
        assert images[name]["count"] == EPOCHS, name
        width, height = png_size(server.png(MODEL, name, save_dir=image_dir))
        assert width >= 100 and height >= 100, (name, width, height)


def test_example_logs_activation_and_weight_histograms_per_layer(trained, server):
    status, body = server.get_json("/api/v1/models/" + MODEL)
    assert status == 200
    hists = {h["name"]: h for h in body["histograms"]}
    weighted = ["conv1", "conv2", "fc", "output"]       # the layers with parameters
    assert sorted(hists) == sorted(["%s/activations" % layer for layer in LAYERS]
                                   + ["parameters/%s" % layer for layer in weighted])
    for name in hists:
        assert hists[name]["count"] == EPOCHS, name
    status, got = server.get_json("/api/v1/histograms?model=%s&name=parameters/fc" % MODEL)
    assert status == 200 and got["records"][-1]["count"] == 128 * 64 + 64   # W and b
    series, _ = server.model(MODEL)
    status, got = server.get_json("/api/v1/histograms?model=%s&name=fc/activations" % MODEL)
    assert status == 200 and got["total"] == EPOCHS
    last = got["records"][-1]
    assert sum(last["counts"]) == last["count"] > 0 and last["nan"] == 0
    assert last["min"] == series["fc/min"]["last_value"]
    assert last["max"] == series["fc/max"]["last_value"]


def test_trained_confusion_matrix_is_mostly_diagonal(trained):
    cm = trained["confusion"]
    assert cm.sum() == len(trained["data"][3])
    assert np.trace(cm) / cm.sum() > 0.85
    assert trained["valid_accuracy"] > 0.85


def test_saliency_is_strongest_on_the_strokes(trained, server):
    X_valid, y_valid = trained["data"][2:]
    X = X_valid[:64]
    log = pastalog.Log(server.url, "digits-saliency")
    show = lasagne_addons.gradients(trained["network"], trained["input_var"], log=log)
    maps = show(X, step=0)
    given = show(X, classes=y_valid[:64], step=1)
    assert log.flush(timeout=30)
    assert maps.shape == (64, 8, 8) and np.all(maps >= 0)
    ink = X[:, 0] > 0.3
    ratio = [maps[i][ink[i]].mean() / maps[i][~ink[i]].mean() for i in range(64)]
    assert np.median(ratio) > 1.2
    # The net is right on nearly all of them: the true classes give nearly the same maps.
    assert np.median([np.corrcoef(a.ravel(), b.ravel())[0, 1]
                      for a, b in zip(maps, given)]) > 0.99
    _, images = server.model("digits-saliency")
    assert images["saliency/grid"]["count"] == 2


def test_occlusion_heat_sits_on_the_digit(trained, server):
    X_valid, y_valid = trained["data"][2:]
    log = pastalog.Log(server.url, "digits-occlusion")
    show = lasagne_addons.occlusion(trained["network"], trained["input_var"], log=log,
                                    max_examples=8, batch_size=100)
    heat = show(X_valid, y_valid, step=3, max_examples=16)
    assert log.flush(timeout=30)
    assert heat.shape == (16, 8, 8)
    ink = X_valid[:16, 0] > 0.3
    assert np.mean([heat[i][ink[i]].mean() > heat[i][~ink[i]].mean() for i in range(16)]) > 0.7
    _, images = server.model("digits-occlusion")
    assert sorted(images) == sorted("occlusion/%d" % i for i in range(16))
    assert {im["last_step"] for im in images.values()} == {3}


def test_activations_of_a_list_of_unnamed_layers(server):
    x = T.tensor4("x")
    l_in = lasagne.layers.InputLayer((None, 1, 8, 8), x)
    conv = lasagne.layers.Conv2DLayer(l_in, 4, (3, 3))
    dense = lasagne.layers.DenseLayer(conv, 5)
    out = lasagne.layers.DenseLayer(dense, 3, nonlinearity=lasagne.nonlinearities.softmax)
    log = pastalog.Log(server.url, "unnamed-layers")
    show = lasagne_addons.activations([conv, dense], x)
    assert show.layer_names == ["Conv2DLayer1", "DenseLayer2"]
    stats = show(np.random.rand(10, 1, 8, 8), step=7, log=log)
    assert set(stats) == {"Conv2DLayer1", "DenseLayer2"}
    assert lasagne_addons.activations(out, x).layer_names == [
        "Conv2DLayer1", "DenseLayer2", "DenseLayer3"]
    assert log.flush(timeout=30)
    series, images = server.model("unnamed-layers")
    assert series["DenseLayer2/zero_fraction"]["last_step"] == 7
    assert set(images) == {"Conv2DLayer1/feature_maps", "DenseLayer2/units"}
    with pytest.raises(ValueError, match="log="):
        show(np.random.rand(2, 1, 8, 8))


def test_confusion_with_class_names(trained, server):
    X_valid, y_valid = trained["data"][2:]
    names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    log = pastalog.Log(server.url, "digits-named")
    out = lasagne_addons.confusion_matrix(trained["network"], trained["input_var"], names,
                                          log=log, batch_size=50)(X_valid, y_valid, step=0)
    assert log.flush(timeout=30)
    series, _ = server.model("digits-named")
    assert "confusion/accuracy/seven" in series
    for t, p, idx, conf in out["mistakes"]:
        assert conf == sorted(conf, reverse=True) and all(y_valid[i] == t for i in idx)


@pytest.mark.parametrize("name", ["pastalog.lasagne_addons._compat",
                                  "pastalog.lasagne_addons._graph",
                                  "pastalog.lasagne_addons.activations",
                                  "pastalog.lasagne_addons.occlusion",
                                  "pastalog.lasagne_addons.gradients",
                                  "pastalog.lasagne_addons.confusion"])
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    assert module.__all__ == sorted(module.__all__)
    assert doctest.testmod(module, optionflags=doctest.ELLIPSIS).failed == 0


@pytest.mark.parametrize("script", ["mnist_lasagne.py", "nolearn_callback.py"])
def test_example_scripts_take_epochs_and_server(script):
    import os
    import subprocess
    import sys

    path = os.path.join(os.path.dirname(mnist_lasagne.__file__), script)
    out = subprocess.run([sys.executable, path, "--help"], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert "--epochs" in out.stdout and "--server" in out.stdout
    assert "http://127.0.0.1:8120" in out.stdout
