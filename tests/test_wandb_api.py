"""pastalog.init / log / finish: a script written for W&B runs with ``import pastalog as wandb``."""
import math
import os
import subprocess
import sys
import textwrap
import warnings

import pytest

import pastalog

from helpers import ROOT

# The common subset of a W&B script, as people write it, with only the import changed.
WANDB_SCRIPT = textwrap.dedent("""
    import argparse
    import math
    import sys

    import pastalog as wandb

    args = argparse.Namespace(lr=0.01, epochs=3, batch_size=32)
    run = wandb.init(project="wandb-style", config=args, entity="me", tags=["baseline"],
                     server=sys.argv[1])
    wandb.config.update({"optimizer": "sgd"})
    assert wandb.config.lr == 0.01 and wandb.run is run
    for epoch in range(wandb.config.epochs):
        for batch in range(4):
            wandb.log({"train/loss": math.exp(-(epoch * 4 + batch) / 5)})
        wandb.log({"val": {"loss": 1.0 / (epoch + 1), "acc": 0.5 + 0.1 * epoch},
                   "epoch": epoch})
    run.log({"lr": 0.001}, step=100)
    run.summary["best_acc"] = 0.7
    wandb.finish()
    assert wandb.run is None
    print("ok", run.step)
""")


def test_a_wandb_script_runs_unchanged(server, tmp_path):
    path = tmp_path / "train.py"
    path.write_text(WANDB_SCRIPT)
    env = dict(os.environ, PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-W", "ignore", str(path), server.url],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["ok", "100"]  # step=100 is not committed until the next call
    # One step per log() call, shared by every key of the call, as in W&B.
    assert server.points("wandb-style", "train/loss") == {
        s: pytest.approx(math.exp(-((s // 5) * 4 + s % 5) / 5)) for s in range(15) if s % 5 != 4}
    assert server.points("wandb-style", "val/acc") == {4: 0.5, 9: pytest.approx(0.6),
                                                        14: pytest.approx(0.7)}
    assert server.points("wandb-style", "epoch") == {4: 0, 9: 1, 14: 2}
    assert server.points("wandb-style", "lr") == {100: 0.001}


def test_init_log_finish_in_process(server):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run = pastalog.init("direct", config={"lr": 0.1}, server=server.url)
    try:
        assert pastalog.run is run and pastalog.config.lr == 0.1
        pastalog.log({"a": 1, "b": 2.5})
        pastalog.log({"a": 3}, step=7)
        pastalog.log({"b": 4}, step=7)
        pastalog.log({"c": 5})   # W&B: goes with the uncommitted step 7, then commits it
        pastalog.log({"a": 6})
        assert run.step == 9
    finally:
        pastalog.finish()
    assert pastalog.run is None
    assert server.points("direct", "a") == {0: 1.0, 7: 3.0, 8: 6.0}
    assert server.points("direct", "c") == {7: 5.0}
    assert server.points("direct", "b") == {0: 2.5, 7: 4.0}
    with pytest.raises(RuntimeError, match="finished"):
        run.log({"a": 1})


def test_mistakes_raise_where_they_are_made(server):
    pastalog.finish()
    with pytest.raises(RuntimeError, match=r"call pastalog.init\(...\) before pastalog.log"):
        pastalog.log({"a": 1})
    with pytest.raises(AttributeError, match="once pastalog.init"):
        pastalog.config
    with pytest.raises(TypeError, match="unexpected options: colour"):
        pastalog.init("x", server=server.url, colour="red")
    with pastalog.init("y", server=server.url) as run:
        with pytest.raises(TypeError, match="dict of numbers"):
            pastalog.log([1, 2])
        with pytest.raises(pastalog.InvalidValue):
            pastalog.log({"name": "not a number"})
        second = pastalog.init("z", server=server.url)  # finishes the first
        assert run._finished and pastalog.run is second
    pastalog.finish()
