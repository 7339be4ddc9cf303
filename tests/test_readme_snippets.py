"""The README's framework snippets run as written against a real server.

Each section's first ```python block is taken from README.md, its port 8120 is
replaced by the test server's, and it runs in a fresh namespace in a scratch
directory; what it logged is then read back through the HTTP API.
"""
import os
import re

import pytest

from helpers import ROOT


def snippet(heading):
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    start = text.index("\n## %s\n" % heading)
    end = text.find("\n## ", start + 1)
    block = re.search(r"```python\n(.*?)```", text[start:end], re.S)
    assert block, "no python block in the README's %r section" % heading
    return block.group(1)


def run(heading, server, tmp_path, monkeypatch):
    code = snippet(heading)
    assert "8120" in code, heading
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__readme__"}
    exec(compile(code.replace("8120", str(server.port)), "README.md: " + heading, "exec"),
         namespace)
    return namespace


def models(server):
    _, body = server.get_json("/api/v1/models")
    return {m["name"]: ({s["name"]: s["count"] for s in m["series"]},
                        {i["name"]: i["count"] for i in m["images"]}) for m in body["models"]}


def test_pytorch_snippet(server, tmp_path, monkeypatch):
    pytest.importorskip("torch", reason="needs the 'torch' extra")
    ns = run("PyTorch", server, tmp_path, monkeypatch)
    assert ns["log"].flush(timeout=30)
    got_series, got_images = models(server)["torch_convnet"]
    assert got_series["train_loss"] == 3 and got_series["0/mean"] == 3
    assert got_series["gradients/0/norm"] == 5  # 24 steps, every 5th: 0, 5, 10, 15, 20
    for name in ("0/feature_maps", "saliency/grid", "integrated_gradients/grid",
                 "grad_cam/grid", "occlusion/0", "confusion/matrix"):
        assert got_images[name] == 3, name


def test_lightning_snippet(server, tmp_path, monkeypatch):
    pytest.importorskip("lightning", reason="needs the 'lightning' extra")
    run("Lightning", server, tmp_path, monkeypatch)
    loss = server.points("lightning_run", "train_loss")
    assert len(loss) == 6  # 8 batches x 3 epochs, every 4th step
    assert list(loss.values())[-1] < list(loss.values())[0]


def test_keras_snippet(server, tmp_path, monkeypatch):
    pytest.importorskip("keras", reason="needs the 'keras' extra")
    run("Keras", server, tmp_path, monkeypatch)
    got_series, _ = models(server)["keras_mlp"]
    assert got_series["epoch/loss"] == got_series["epoch/val_accuracy"] == 3
    assert got_series["batch/loss"] == 4  # 13 batches x 3 epochs, every 10th


def test_transformers_snippet(server, tmp_path, monkeypatch):
    pytest.importorskip("transformers", reason="needs the 'transformers' extra")
    run("Hugging Face Transformers", server, tmp_path, monkeypatch)
    assert sorted(server.points("tiny_bert", "train/loss")) == [5, 10, 15, 20]


def test_wandb_style_snippet(server, tmp_path, monkeypatch):
    run("Scripts written for W&B or trackio", server, tmp_path, monkeypatch)
    assert len(server.points("wandb_style", "loss")) == 30
    assert server.points("wandb_style", "val/acc") == {
        10: pytest.approx(0.8), 21: pytest.approx(0.85), 32: pytest.approx(0.9)}
