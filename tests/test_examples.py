"""The runnable examples do what they say against a real server."""
import os
import runpy

from helpers import ROOT


def test_quickstart_logs_two_models(server):
    quickstart = runpy.run_path(os.path.join(ROOT, "examples", "quickstart.py"))
    assert quickstart["main"](server.port, epochs=20) is True
    _, models = server.get_json("/api/v1/models")
    assert [m["name"] for m in models["models"]] == ["model_1", "model_2"]
    for model in models["models"]:
        assert {s["name"]: s["count"] for s in model["series"]} == {"train_loss": 20,
                                                                    "valid_loss": 20}
