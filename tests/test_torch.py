"""pastalog.torch against a real server: the four add-ons and watch on a real conv net.

The model is the example's (examples/torch_digits.py), trained here for a few
epochs on scikit-learn's bundled digits; what the add-ons log is read back
through the HTTP API and checked against what the test computes itself.
"""
import doctest
import importlib
import os
import runpy
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="pastalog.torch needs the 'torch' extra")
pytest.importorskip("captum", reason="pastalog.torch.saliency needs the 'torch' extra")
pytest.importorskip("sklearn", reason="the digits data come with scikit-learn")

import pastalog  # noqa: E402
import pastalog.torch  # noqa: E402
from pastalog.addons.occlusion import occlusion_maps  # noqa: E402
from pastalog.torch._util import predict_probs  # noqa: E402
from pastalog.torch.saliency import attribute  # noqa: E402

from helpers import ROOT  # noqa: E402

EXAMPLE = runpy.run_path(os.path.join(ROOT, "examples", "torch_digits.py"))
MODULES = ["pastalog.torch._util", "pastalog.torch.activations", "pastalog.torch.saliency",
           "pastalog.torch.occlusion", "pastalog.torch.watch"]


def ink_ratio(maps, X, threshold=0.3):
    """Share of |attribution| on ink pixels over the share of ink pixels, per image, mean."""
    maps, ink = np.abs(np.asarray(maps)), np.asarray(X)[:, 0] > threshold
    return float(np.mean([(maps[i][ink[i]].sum() / maps[i].sum()) / ink[i].mean()
                          for i in range(len(maps))]))


@pytest.fixture(scope="module")
def trained():
    """The example's conv net after 6 epochs on digits (about 5 s), and the data."""
    torch.manual_seed(0)
    X_train, y_train, X_valid, y_valid = EXAMPLE["load_data"](0)
    model = EXAMPLE["build_model"]()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.003)
    for _ in range(6):
        model.train()
        for idx in torch.randperm(len(X_train)).split(64):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(X_train[idx]), y_train[idx]).backward()
            optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    model.eval()
    with torch.no_grad():
        accuracy = (model(X_valid).argmax(1) == y_valid).float().mean().item()
    return model, X_valid, y_valid, accuracy


def all_modes(model):
    return [m.training for m in model.modules()]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_public_names():
    assert pastalog.torch.__all__ == sorted(pastalog.torch.__all__)
    for name in pastalog.torch.__all__:
        assert hasattr(pastalog.torch, name), name


def test_activations_log_what_the_layers_output(server, trained):
    model, X, _, _ = trained
    model.train()
    model.fc.eval()  # a mixed state the add-on must give back as it was
    before = all_modes(model)
    log = pastalog.Log(server.url, "acts")
    show = pastalog.torch.activations(model, log=log)
    assert show.layer_names == ["conv1", "relu1", "conv2", "relu2", "fc", "relu3", "output"]
    with torch.no_grad():
        stats = show(X[:32], step=3)
    assert log.flush(timeout=20)
    assert all_modes(model) == before
    assert all(not m._forward_hooks for m in model.modules())

    with torch.no_grad():
        conv1 = model.conv1(X[:32])
        relu2 = torch.relu(model.conv2(torch.relu(conv1)))
    assert server.points("acts", "conv1/mean") == {3: pytest.approx(conv1.mean().item(),
                                                                     rel=1e-5)}
    assert server.points("acts", "conv1/max")[3] == pytest.approx(conv1.max().item(), rel=1e-6)
    zero = (relu2 == 0).float().mean().item()
    assert server.points("acts", "relu2/zero_fraction")[3] == pytest.approx(zero, abs=1e-9)
    assert stats["relu2"]["zero_fraction"] == pytest.approx(zero, abs=1e-9)
    for layer in show.layer_names:
        for stat in ("mean", "std", "min", "max", "zero_fraction"):
            assert 3 in server.points("acts", "%s/%s" % (layer, stat)), (layer, stat)
    feature_maps = server.images("acts", "conv1/feature_maps")
    assert [i["step"] for i in feature_maps] == [3] and feature_maps[0]["width"] > 100
    assert [i["step"] for i in server.images("acts", "fc/units")] == [3]


def test_activations_of_chosen_layers_only(server, trained):
    model = trained[0]
    log = pastalog.Log(server.url, "chosen")
    show = pastalog.torch.activations(model, log=log, layers=["conv2", model.output],
                                      prefix="acts", images=False)
    assert sorted(show(X := trained[1][:8], step=0)) == ["conv2", "output"]
    assert log.flush(timeout=20)
    _, body = server.get_json("/api/v1/models/chosen")
    names = sorted(s["name"] for s in body["series"])
    assert names == sorted("acts/%s/%s" % (layer, stat) for layer in ("conv2", "output")
                           for stat in ("max", "mean", "min", "std", "zero_fraction"))
    model.eval()  # dropout off, as in the add-on
    with torch.no_grad():
        expected = model(X).std(unbiased=False).item()
    assert server.points("chosen", "acts/output/std")[0] == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="no layer named 'conv9'"):
        pastalog.torch.activations(model, log=log, layers=["conv9"])


def test_saliency_is_the_input_gradient_and_leaves_everything_as_it_was(server, trained):
    model, X, y, _ = trained
    model.train()
    before = all_modes(model)
    x = X[:16].clone()
    x_grad = X[16:32].clone().requires_grad_()
    log = pastalog.Log(server.url, "sal")
    show = pastalog.torch.saliency(model, log=log)
    with torch.no_grad():
        maps = show(x, classes=y[:16], step=2)
        show(x_grad, step=3)
    with torch.inference_mode():
        x_inference = X[:16].clone()
        assert (show(x_inference, classes=y[:16], step=4) == maps).all()
    assert log.flush(timeout=20)
    assert all_modes(model) == before
    assert not x.requires_grad and x.grad is None
    assert x_grad.requires_grad and x_grad.grad is None
    assert all(p.grad is None for p in model.parameters())

    # The gradient of the chosen class's logit, in eval mode, by hand.
    model.eval()
    xx = X[:16].clone().requires_grad_()
    model(xx)[torch.arange(16), y[:16]].sum().backward()
    model.zero_grad(set_to_none=True)
    model.train()
    np.testing.assert_allclose(maps, xx.grad.abs().amax(dim=1).numpy(), rtol=1e-5, atol=1e-8)
    assert [i["step"] for i in server.images("sal", "saliency/grid")] == [2, 3, 4]


def test_integrated_gradients_and_grad_cam(server, trained):
    model, X, y, _ = trained
    log = pastalog.Log(server.url, "attr")
    ig = pastalog.torch.saliency(model, log=log, method="integrated_gradients", steps=64)
    cam = pastalog.torch.saliency(model, log=log, method="grad_cam", layer="conv2")
    ig_maps = ig(X[:8], classes=y[:8], step=1)
    cam_maps = cam(X[:8], step=1)
    assert log.flush(timeout=20)
    assert [i["step"] for i in server.images("attr", "integrated_gradients/grid")] == [1]
    assert [i["step"] for i in server.images("attr", "grad_cam/grid")] == [1]
    assert ig_maps.shape == cam_maps.shape == (8, 8, 8)
    assert (cam_maps >= 0).all() and cam_maps.max() > 0

    # Completeness: integrated gradients sum to score(x) - score(baseline).
    attr, _, _ = attribute(model, X[:8], y[:8], method="integrated_gradients", steps=128)
    model.eval()
    with torch.no_grad():
        gap = (model(X[:8]) - model(torch.zeros_like(X[:8])))[torch.arange(8), y[:8]]
    np.testing.assert_allclose(attr.reshape(8, -1).sum(1), gap.numpy(), rtol=0.05, atol=0.05)
    with pytest.raises(ValueError, match="grad_cam needs layer="):
        pastalog.torch.saliency(model, log=log, method="grad_cam")


def test_occlusion_and_confusion(server, trained):
    model, X, y, accuracy = trained
    log = pastalog.Log(server.url, "occ")
    heat = pastalog.torch.occlusion(model, log=log, max_examples=3)(X, y, step=4)
    result = pastalog.torch.confusion_matrix(model, log=log)(X, y, step=4)
    assert log.flush(timeout=20)
    assert heat.shape == (3, 8, 8)
    for i in range(3):
        assert [im["step"] for im in server.images("occ", "occlusion/%d" % i)] == [4]
    assert server.points("occ", "occlusion/max_drop")[4] == pytest.approx(
        heat.reshape(3, -1).max(1).mean())
    assert server.points("occ", "confusion/accuracy")[4] == pytest.approx(accuracy, abs=1e-6)
    assert result["cm"].sum() == len(y)
    assert [im["step"] for im in server.images("occ", "confusion/matrix")] == [4]
    assert [im["step"] for im in server.images("occ", "confusion/mistakes")] == [4]
    # Most common mistakes first; in each, the most confident example first.
    counts = [len(idx) for _, _, idx, _ in result["mistakes"]]
    assert counts == sorted(counts, reverse=True)
    for _, _, _, conf in result["mistakes"]:
        assert conf == sorted(conf, reverse=True)


def test_attributions_fall_on_the_ink(trained):
    """The issue's quality bar: attribution share on ink / ink area share >= 2."""
    model, X, y, accuracy = trained
    assert accuracy >= 0.95
    X_np, y_np = X.numpy(), y.numpy()
    occ, _ = occlusion_maps(lambda b: predict_probs(model, b), X_np, y_np)
    ig, _, _ = attribute(model, X, y, method="integrated_gradients")
    occ_ratio, ig_ratio = ink_ratio(occ, X_np), ink_ratio(ig[:, 0], X_np)
    print("ink ratio: occlusion %.2f, integrated gradients %.2f" % (occ_ratio, ig_ratio))
    assert occ_ratio >= 2.0
    assert ig_ratio >= 2.0


def test_watch_logs_gradient_and_weight_norms_every_n_steps(server):
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    log = pastalog.Log(server.url, "watched")
    watcher = pastalog.torch.watch(model, log, every=10, what="all")
    expected_grad, expected_weight = {}, {}
    for step in range(25):
        x, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
        weight = torch.cat([model[2].weight.detach().flatten(), model[2].bias.detach()]).norm()
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        grad = torch.cat([model[0].weight.grad.flatten(), model[0].bias.grad]).norm()
        optimizer.step()
        if step % 10 == 0:
            expected_grad[step], expected_weight[step] = grad.item(), weight.item()
        with torch.no_grad():  # evaluation passes do not count as steps
            model(x)
    model.eval()
    model(x)
    assert watcher.step == 25
    watcher.remove()
    model.train()
    model(x).sum().backward()
    assert log.flush(timeout=20)
    assert not model._forward_pre_hooks
    got = server.points("watched", "gradients/0/norm")
    assert sorted(got) == [0, 10, 20]
    for step, value in expected_grad.items():
        assert got[step] == pytest.approx(value, rel=1e-5)
    got = server.points("watched", "parameters/2/norm")
    for step, value in expected_weight.items():
        assert got[step] == pytest.approx(value, rel=1e-5)
    _, body = server.get_json("/api/v1/models/watched")
    assert sorted(s["name"] for s in body["series"]) == [
        "gradients/0/norm", "gradients/2/norm", "parameters/0/norm", "parameters/2/norm"]


def test_watch_checks_its_arguments():
    model = torch.nn.Linear(2, 2)
    with pytest.raises(ValueError, match="what must be one of"):
        pastalog.torch.watch(model, _Recorder(), what="histograms")
    with pytest.raises(ValueError, match="every must be an int >= 1"):
        pastalog.torch.watch(model, _Recorder(), every=0)
    with pytest.raises(ValueError, match="no parameters"):
        pastalog.torch.watch(torch.nn.ReLU(), _Recorder())


class _Recorder:
    def __init__(self):
        self.points = {}

    def write(self, series, value, step=None):
        self.points[series, step] = value

    def image(self, name, img, step=None):
        pass


def test_missing_torch_names_the_extra():
    code = ("import sys; sys.modules['torch'] = None\n"
            "try:\n    import pastalog.torch\n"
            "except ImportError as exc:\n    print(exc)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=60)
    assert "pip install 'pastalog[torch]'" in out.stdout, out.stderr
