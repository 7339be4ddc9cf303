"""The runnable examples do what they say against a real server."""
import os
import runpy

import pytest

from helpers import ROOT


def test_quickstart_logs_two_models(server):
    quickstart = runpy.run_path(os.path.join(ROOT, "examples", "quickstart.py"))
    assert quickstart["main"](server.port, epochs=20) is True
    _, models = server.get_json("/api/v1/models")
    assert [m["name"] for m in models["models"]] == ["model_1", "model_2"]
    for model in models["models"]:
        assert {s["name"]: s["count"] for s in model["series"]} == {"train_loss": 20,
                                                                    "valid_loss": 20}


def _series_names(server, model):
    status, body = server.get_json("/api/v1/models/" + model)
    assert status == 200, body
    return ({s["name"]: s["count"] for s in body["series"]},
            {i["name"]: i["count"] for i in body["images"]})


def _run_example(name):
    return runpy.run_path(os.path.join(ROOT, "examples", name))


def test_torch_digits_logs_curves_norms_and_all_four_add_ons(server):
    pytest.importorskip("torch", reason="needs the 'torch' extra")
    pytest.importorskip("sklearn")
    result = _run_example("torch_digits.py")["main"](num_epochs=6, server=server.url)
    assert result["delivered"] and result["valid_accuracy"] >= 0.95
    series, images = _series_names(server, "digits-torch")
    for name in ("train_loss", "valid_loss", "valid_accuracy", "conv1/mean", "relu2/zero_fraction",
                 "confusion/accuracy", "occlusion/max_drop"):
        assert series[name] == 6, name
    steps = result["steps"]  # 23 batches an epoch; watch logs every 10th
    assert series["gradients/conv1/norm"] == series["parameters/output/norm"] == (steps + 9) // 10
    for name in ("conv1/feature_maps", "fc/units", "saliency/grid", "integrated_gradients/grid",
                 "grad_cam/grid", "occlusion/0", "occlusion/3", "confusion/matrix"):
        assert images[name] == 6, name


def test_lightning_digits(server):
    pytest.importorskip("lightning", reason="needs the 'lightning' extra")
    pytest.importorskip("sklearn")
    result = _run_example("lightning_digits.py")["main"](num_epochs=2, server=server.url)
    assert result["delivered"] and result["valid_accuracy"] > 0.8
    series, images = _series_names(server, "digits-lightning")
    assert series["valid_accuracy"] == 2 and series["train_loss"] >= 5
    assert series["confusion/accuracy"] == 2 and images["confusion/matrix"] == 2
    assert images["valid/digits/0"] == 2


def test_keras_digits(server):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("keras", reason="needs the 'keras' extra")
    pytest.importorskip("sklearn")
    result = _run_example("keras_digits.py")["main"](num_epochs=2, server=server.url)
    assert result["delivered"] and result["valid_accuracy"] > 0.8
    series, _ = _series_names(server, "digits-keras")
    assert series["epoch/val_accuracy"] == series["epoch/loss"] == 2
    assert series["batch/loss"] == 10  # 23 batches an epoch, every 5th: 0, 5, ..., 45


def test_transformers_tiny(server):
    pytest.importorskip("transformers", reason="needs the 'transformers' extra")
    result = _run_example("transformers_tiny.py")["main"](num_steps=60, server=server.url)
    assert result["delivered"] and result["metrics"]["eval_accuracy"] > 0.8
    series, _ = _series_names(server, "tiny-bert")
    assert series["train/loss"] == 12 and series["eval/accuracy"] >= 3
