#!/usr/bin/env python
"""Train a small Keras 3 conv net on digits, logging through ``PastalogCallback``.

The data are scikit-learn's bundled 8x8 handwritten digits (no download).  The
callback logs ``batch/loss`` and ``batch/accuracy`` every 5 batches and
``epoch/loss``, ``epoch/accuracy``, ``epoch/val_loss``, ``epoch/val_accuracy``
every epoch.  Keras needs a backend: this script uses PyTorch unless
``KERAS_BACKEND`` says otherwise.

Start a server (``pastalog run 8120``), then::

    python examples/keras_digits.py --epochs 3 --server http://127.0.0.1:8120

Needs Keras 3 and PyTorch (``pip install 'pastalog[keras,torch]'``) and scikit-learn.
"""

import argparse
import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # before Keras is imported

import keras  # noqa: E402
import numpy as np  # noqa: E402

from pastalog.keras import PastalogCallback  # noqa: E402


def load_data(seed=0):
    """Digits as (N, 8, 8, 1) float32 in [0, 1]; 80 % train, 20 % validation."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = (digits.images / 16.0).astype(np.float32)[:, :, :, None]
    y = digits.target.astype(np.int64)
    order = np.random.RandomState(seed).permutation(len(X))
    X, y = X[order], y[order]
    n_train = int(0.8 * len(X))
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


def build_model():
    """Two 3x3 conv layers, max-pooling, a dense layer, a softmax."""
    return keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv1"),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2"),
        keras.layers.MaxPooling2D(2, name="pool"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(64, activation="relu", name="fc"),
        keras.layers.Dense(10, activation="softmax", name="output"),
    ])


def main(num_epochs=3, server="http://127.0.0.1:8120", model_name="digits-keras",
         batch_size=64, seed=0):
    """Train, logging to ``server``; return the model, the callback and the history."""
    keras.utils.set_random_seed(seed)
    X_train, y_train, X_valid, y_valid = load_data(seed)
    model = build_model()
    model.compile(optimizer=keras.optimizers.Adam(0.003),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    callback = PastalogCallback(server, model_name, every=5)
    history = model.fit(X_train, y_train, batch_size=batch_size, epochs=num_epochs,
                        validation_data=(X_valid, y_valid), callbacks=[callback], verbose=0)
    accuracy = history.history["val_accuracy"][-1]
    print("val_accuracy %.3f after %d epochs (%s backend)"
          % (accuracy, num_epochs, keras.backend.backend()))
    return {"model": model, "callback": callback, "history": history.history,
            "valid_accuracy": accuracy, "delivered": callback.log.flush(timeout=30)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="training epochs (default 3)")
    parser.add_argument("--server", default="http://127.0.0.1:8120",
                        help="pastalog server URL or port (default http://127.0.0.1:8120)")
    parser.add_argument("--model", default="digits-keras", help="model name to log under")
    args = parser.parse_args()
    main(num_epochs=args.epochs, server=args.server, model_name=args.model)
