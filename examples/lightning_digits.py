#!/usr/bin/env python
"""Train a small conv net on digits with Lightning, logging through ``PastalogLogger``.

The data are scikit-learn's bundled 8x8 handwritten digits (no download).
``self.log(...)`` in the LightningModule reaches pastalog as series
(``train_loss``, ``valid_loss``, ``valid_accuracy``, ``epoch``); at the end of
each validation (at the global step) the confusion-matrix add-on of :mod:`pastalog.torch` logs
through the logger's ``experiment`` (a :class:`pastalog.Log`), and
``log_image`` logs a few validation digits, as with W&B's logger.

Start a server (``pastalog run 8120``), then::

    python examples/lightning_digits.py --epochs 3 --server http://127.0.0.1:8120

Needs Lightning and PyTorch (``pip install 'pastalog[lightning,torch]'``) and
scikit-learn.
"""

import argparse
import collections

import lightning
import numpy as np
import torch
from torch import nn

import pastalog.torch
from pastalog.lightning import PastalogLogger


def load_data(seed=0):
    """Digits as (N, 1, 8, 8) float32 in [0, 1]; 80 % train, 20 % validation."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = torch.from_numpy((digits.images / 16.0).astype(np.float32)[:, None, :, :])
    y = torch.from_numpy(digits.target.astype(np.int64))
    order = torch.from_numpy(np.random.RandomState(seed).permutation(len(X)))
    X, y = X[order], y[order]
    n_train = int(0.8 * len(X))
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


class DigitsNet(lightning.LightningModule):
    """Two 3x3 conv layers, max-pooling, a dense layer, 10 logits."""

    def __init__(self, lr=0.003):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(collections.OrderedDict([
            ("conv1", nn.Conv2d(1, 16, 3, padding=1)), ("relu1", nn.ReLU()),
            ("conv2", nn.Conv2d(16, 32, 3, padding=1)), ("relu2", nn.ReLU()),
            ("pool", nn.MaxPool2d(2)), ("flatten", nn.Flatten()),
            ("fc", nn.Linear(32 * 4 * 4, 64)), ("relu3", nn.ReLU()),
            ("output", nn.Linear(64, 10)),
        ]))
        self.show_confusion = None

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = nn.functional.cross_entropy(self(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        scores = self(x)
        self.log("valid_loss", nn.functional.cross_entropy(scores, y))
        self.log("valid_accuracy", (scores.argmax(1) == y).float().mean())

    def on_validation_epoch_end(self):
        if self.trainer.sanity_checking:
            return
        X_valid, y_valid = self.trainer.val_dataloaders.dataset.tensors
        if self.show_confusion is None:
            self.show_confusion = pastalog.torch.confusion_matrix(self, log=self.logger.experiment)
        self.show_confusion(X_valid, y_valid, step=self.global_step)
        self.logger.log_image("valid/digits", [X_valid[i] for i in range(4)],
                              step=self.global_step)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)


def main(num_epochs=3, server="http://127.0.0.1:8120", model_name="digits-lightning",
         batch_size=64, seed=0):
    """Train, logging to ``server``; return the model, the logger and the accuracy."""
    lightning.seed_everything(seed, verbose=False)
    X_train, y_train, X_valid, y_valid = load_data(seed)
    train = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X_train, y_train),
                                        batch_size=batch_size, shuffle=True)
    valid = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X_valid, y_valid),
                                        batch_size=512)
    model = DigitsNet()
    logger = PastalogLogger(server, model_name)
    trainer = lightning.Trainer(max_epochs=num_epochs, logger=logger, accelerator="cpu",
                                log_every_n_steps=5, enable_checkpointing=False,
                                enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(model, train, valid)
    accuracy = trainer.callback_metrics["valid_accuracy"].item()
    print("valid_accuracy %.3f after %d epochs" % (accuracy, num_epochs))
    return {"model": model, "logger": logger, "valid_accuracy": accuracy,
            "global_step": trainer.global_step, "delivered": logger.experiment.flush(timeout=30)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="training epochs (default 3)")
    parser.add_argument("--server", default="http://127.0.0.1:8120",
                        help="pastalog server URL or port (default http://127.0.0.1:8120)")
    parser.add_argument("--model", default="digits-lightning", help="model name to log under")
    args = parser.parse_args()
    main(num_epochs=args.epochs, server=args.server, model_name=args.model)
