"""The Lightning logger, the Keras callback and the Transformers callback, each training a
real (tiny) model against a real server, checked through the HTTP API."""
import os
import subprocess
import sys

import numpy as np
import pytest

from helpers import ROOT

os.environ.setdefault("KERAS_BACKEND", "torch")  # before anything imports Keras


# --- Lightning ------------------------------------------------------------------------

def test_lightning_logger_is_a_real_logger_and_logs_what_the_module_logs(server):
    lightning = pytest.importorskip("lightning", reason="needs the 'lightning' extra")
    torch = pytest.importorskip("torch")
    from pastalog.lightning import PastalogLogger

    class Tiny(lightning.LightningModule):
        def __init__(self, lr=0.05):
            super().__init__()
            self.save_hyperparameters()
            self.layer = torch.nn.Linear(3, 1)
            self.losses = []

        def training_step(self, batch, batch_idx):
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.layer(x), y)
            self.log("loss", loss)
            self.losses.append(loss.item())
            return loss

        def on_train_epoch_end(self):
            self.logger.log_image("weights", [torch.rand(1, 8, 8), torch.rand(3, 8, 8)],
                                  step=self.current_epoch)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)

    torch.manual_seed(0)
    x = torch.randn(32, 3)
    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, x.sum(1, keepdim=True)),
                                       batch_size=8)
    logger = PastalogLogger(server.port, "lit")
    assert isinstance(logger, lightning.pytorch.loggers.Logger)
    assert (logger.name, logger.version) == ("lit", 0)
    model = Tiny()
    trainer = lightning.Trainer(max_epochs=2, logger=logger, log_every_n_steps=1,
                                accelerator="cpu", enable_checkpointing=False,
                                enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(model, data)
    assert logger.experiment.flush(timeout=20)

    loss = server.points("lit", "loss")
    assert len(loss) == 8 and list(loss) == sorted(loss)
    assert list(loss.values()) == pytest.approx(model.losses, rel=1e-6)
    assert set(server.points("lit", "epoch").values()) == {0.0, 1.0}
    assert logger.hyperparams == {"lr": 0.05}  # kept, and sent as the run's config
    assert server.get_json("/api/v1/runs/lit")[1]["config"] == {"lr": 0.05}
    assert [im["step"] for im in server.images("lit", "weights/0")] == [0, 1]
    shapes = {(im["width"], im["height"]) for im in server.images("lit", "weights/1")}
    assert shapes == {(8, 8)}


# --- Keras ----------------------------------------------------------------------------

def test_keras_callback_logs_batches_every_n_and_epochs(server):
    keras = pytest.importorskip("keras", reason="needs the 'keras' extra")
    if keras.backend.backend() != "torch":
        pytest.skip("the test environment runs Keras on PyTorch (KERAS_BACKEND=torch)")
    from pastalog.keras import PastalogCallback

    keras.utils.set_random_seed(0)
    rng = np.random.RandomState(0)
    X = rng.rand(80, 4).astype("float32")
    y = (X.sum(1) > 2).astype("int64")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    callback = PastalogCallback(server.url, "keras-tiny", every=3)
    history = model.fit(X, y, batch_size=8, epochs=2, validation_split=0.25, verbose=0,
                        callbacks=[callback])  # 60 training rows: 8 batches an epoch
    assert callback.log.flush(timeout=20)

    assert sorted(server.points("keras-tiny", "batch/loss")) == [0, 3, 6, 9, 12, 15]
    assert list(server.points("keras-tiny", "epoch/loss").values()) == pytest.approx(
        history.history["loss"], rel=1e-6)
    assert list(server.points("keras-tiny", "epoch/val_accuracy").values()) == pytest.approx(
        history.history["val_accuracy"], rel=1e-6)
    config = server.get_json("/api/v1/runs/keras-tiny")[1]["config"]
    assert config["epochs"] == 2 and config["optimizer/name"] == "adam"
    with pytest.raises(ValueError, match="every must be an int >= 0"):
        PastalogCallback(server.url, "x", every=-1)


# --- Transformers ---------------------------------------------------------------------

def test_transformers_callback_logs_on_log_at_the_global_step(server, tmp_path):
    transformers = pytest.importorskip("transformers", reason="needs the 'transformers' extra")
    torch = pytest.importorskip("torch")
    from pastalog.transformers import PastalogCallback

    class Data(torch.utils.data.Dataset):
        def __init__(self, n):
            g = torch.Generator().manual_seed(n)
            self.ids = torch.randint(1, 16, (n, 6), generator=g)

        def __len__(self):
            return len(self.ids)

        def __getitem__(self, i):
            return {"input_ids": self.ids[i], "labels": (self.ids[i] == 3).any().long()}

    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=16, hidden_size=16, num_hidden_layers=1,
                                     num_attention_heads=2, intermediate_size=32,
                                     max_position_embeddings=8, num_labels=2)
    model = transformers.BertForSequenceClassification(config)
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path), run_name="hf-tiny", max_steps=6, logging_steps=2,
        per_device_train_batch_size=8, learning_rate=1e-3, eval_strategy="steps", eval_steps=3,
        save_strategy="no", report_to="none", use_cpu=True, disable_tqdm=True)
    callback = PastalogCallback(server.url)  # named after args.run_name
    trainer = transformers.Trainer(model=model, args=args, train_dataset=Data(48),
                                   eval_dataset=Data(16), callbacks=[callback])
    trainer.train()
    assert callback.log.flush(timeout=20)

    history = trainer.state.log_history
    expected = {h["step"]: h["loss"] for h in history if "loss" in h}
    assert sorted(expected) == [2, 4, 6]
    assert server.points("hf-tiny", "train/loss") == pytest.approx(expected, rel=1e-9)
    expected_eval = {h["step"]: h["eval_loss"] for h in history if "eval_loss" in h}
    assert server.points("hf-tiny", "eval/loss") == pytest.approx(expected_eval, rel=1e-9)
    assert sorted(server.points("hf-tiny", "train/learning_rate")) == [2, 4, 6]
    assert callback.config["learning_rate"] == 1e-3 and callback.config["max_steps"] == 6
    assert callback.config["model"]["hidden_size"] == 16
    config = server.get_json("/api/v1/runs/hf-tiny")[1]["config"]     # sent, flattened
    assert config["learning_rate"] == 1e-3 and config["model/hidden_size"] == 16


# --- what a missing framework says ----------------------------------------------------

@pytest.mark.parametrize("module, blocked, extra", [
    ("pastalog.lightning", ("lightning", "pytorch_lightning"), "lightning"),
    ("pastalog.keras", ("keras",), "keras"),
    ("pastalog.transformers", ("transformers",), "transformers"),
])
def test_a_missing_framework_names_the_extra(module, blocked, extra):
    code = ("import sys\n"
            "for name in %r: sys.modules[name] = None\n"
            "try:\n    import %s\n"
            "except ImportError as exc:\n    print(exc)\n" % (blocked, module))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=60)
    assert "pip install 'pastalog[%s]'" % extra in out.stdout, (out.stdout, out.stderr)


def test_the_client_still_imports_with_the_standard_library_alone():
    code = ("import sys, pastalog\n"
            "heavy = ('numpy', 'torch', 'lightning', 'keras', 'transformers', 'captum')\n"
            "print(','.join(m for m in heavy if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "", (out.stdout, out.stderr)
