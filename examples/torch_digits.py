#!/usr/bin/env python
"""Train a small PyTorch conv net on digits, logging curves, norms and add-on pictures.

The data are scikit-learn's bundled 8x8 handwritten digits (1,797 images,
``sklearn.datasets.load_digits``: no download), an MNIST in miniature.  Every
epoch logs ``train_loss``, ``valid_loss`` and ``valid_accuracy`` and runs the
add-ons of :mod:`pastalog.torch` on held-out examples: activations, saliency
(gradients, integrated gradients, Grad-CAM), occlusion and the confusion
matrix; ``watch`` logs per-layer gradient and weight norms every 10 steps.

Start a server (``pastalog run 8120``), then::

    python examples/torch_digits.py --epochs 10 --server http://127.0.0.1:8120

and open the model ``digits-torch`` in the browser.  Needs PyTorch and Captum
(``pip install 'pastalog[torch]'``) and scikit-learn.
"""

import argparse
import collections
import time

import numpy as np
import torch
from torch import nn

import pastalog
import pastalog.torch


def load_data(seed=0):
    """Digits as (N, 1, 8, 8) float32 in [0, 1]; 80 % train, 20 % validation."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
    y = digits.target.astype(np.int64)
    order = np.random.RandomState(seed).permutation(len(X))
    X, y = torch.from_numpy(X[order]), torch.from_numpy(y[order])
    n_train = int(0.8 * len(X))
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


def build_model():
    """Two 3x3 conv layers, max-pooling, a dense layer, 10 class scores (logits)."""
    return nn.Sequential(collections.OrderedDict([
        ("conv1", nn.Conv2d(1, 16, 3, padding=1)), ("relu1", nn.ReLU()),
        ("conv2", nn.Conv2d(16, 32, 3, padding=1)), ("relu2", nn.ReLU()),
        ("pool", nn.MaxPool2d(2)), ("flatten", nn.Flatten()),
        ("fc", nn.Linear(32 * 4 * 4, 64)), ("relu3", nn.ReLU()), ("drop", nn.Dropout(0.3)),
        ("output", nn.Linear(64, 10)),
    ]))


def main(num_epochs=10, server="http://127.0.0.1:8120", model_name="digits-torch",
         batch_size=64, seed=0, watch_every=10):
    """Train, logging to ``server``; return the trained model and results."""
    torch.manual_seed(seed)
    X_train, y_train, X_valid, y_valid = load_data(seed)
    model = build_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.003)
    loss_fn = nn.CrossEntropyLoss()

    log = pastalog.Log(server, model_name)
    watcher = pastalog.torch.watch(model, log, every=watch_every, what="all")
    show_activations = pastalog.torch.activations(model, log=log)
    show_saliency = pastalog.torch.saliency(model, log=log)
    show_integrated = pastalog.torch.saliency(model, log=log, method="integrated_gradients")
    show_grad_cam = pastalog.torch.saliency(model, log=log, method="grad_cam", layer="conv2")
    show_occlusion = pastalog.torch.occlusion(model, log=log, max_examples=4)
    show_confusion = pastalog.torch.confusion_matrix(model, log=log)
    X_show, y_show = X_valid[:64], y_valid[:64]

    for epoch in range(1, num_epochs + 1):
        start = time.time()
        model.train()
        losses = []
        for idx in torch.randperm(len(X_train)).split(batch_size):
            optimizer.zero_grad()
            loss = loss_fn(model(X_train[idx]), y_train[idx])
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        model.eval()
        with torch.no_grad():
            scores = model(X_valid)
            valid_loss = loss_fn(scores, y_valid).item()
            valid_acc = (scores.argmax(dim=1) == y_valid).float().mean().item()
        log.write("train_loss", float(np.mean(losses)), step=epoch)
        log.write("valid_loss", valid_loss, step=epoch)
        log.write("valid_accuracy", valid_acc, step=epoch)

        show_activations(X_show, step=epoch)
        show_saliency(X_show[:16], step=epoch)
        integrated = show_integrated(X_show[:16], step=epoch)
        show_grad_cam(X_show[:16], step=epoch)
        occluded = show_occlusion(X_show, y_show, step=epoch)
        confusion = show_confusion(X_valid, y_valid, step=epoch)
        print("epoch %d/%d  train_loss %.3f  valid_loss %.3f  valid_accuracy %.3f  (%.1f s)"
              % (epoch, num_epochs, np.mean(losses), valid_loss, valid_acc, time.time() - start))

    watcher.remove()
    delivered = log.flush(timeout=30)
    log.close()
    return {"model": model, "model_name": model_name, "valid_accuracy": valid_acc,
            "confusion": confusion["cm"], "occlusion": occluded, "integrated": integrated,
            "steps": watcher.step, "delivered": delivered,
            "data": (X_train, y_train, X_valid, y_valid)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="training epochs (default 10)")
    parser.add_argument("--server", default="http://127.0.0.1:8120",
                        help="pastalog server URL or port (default http://127.0.0.1:8120)")
    parser.add_argument("--model", default="digits-torch", help="model name to log under")
    args = parser.parse_args()
    main(num_epochs=args.epochs, server=args.server, model_name=args.model)
