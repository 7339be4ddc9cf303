#!/usr/bin/env python
"""Train a small Lasagne conv net on digits, logging curves and add-on pictures.

The data are scikit-learn's bundled 8x8 handwritten digits (1,797 images,
``sklearn.datasets.load_digits``: no download), an MNIST in miniature.  Every
epoch logs ``train_loss``, ``valid_loss`` and ``valid_accuracy``, and runs the
four add-ons of :mod:`pastalog.lasagne_addons` on a held-out batch:
activations, occlusion, saliency (gradients) and the confusion matrix.

Start a server (``pastalog run 8120``), then::

    python examples/mnist_lasagne.py --epochs 10 --server http://127.0.0.1:8120

and open the model ``digits-convnet`` in the browser.  Needs Theano and
Lasagne (``pip install 'pastalog[lasagne]'``) and scikit-learn.
"""

import argparse
import time

import numpy as np

import pastalog
from pastalog import lasagne_addons  # first: it makes Theano importable (see _compat)

import lasagne
import theano
import theano.tensor as T
from lasagne.layers import Conv2DLayer, DenseLayer, DropoutLayer, InputLayer, MaxPool2DLayer


def load_data(seed=0):
    """Digits as (N, 1, 8, 8) float32 in [0, 1]; 80 % train, 20 % validation."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = (digits.images / 16.0).astype(theano.config.floatX)[:, None, :, :]
    y = digits.target.astype(np.int32)
    order = np.random.RandomState(seed).permutation(len(X))
    X, y = X[order], y[order]
    n_train = int(0.8 * len(X))
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


def build_network(input_var):
    """Two 3x3 conv layers with max-pooling, a dense layer, a softmax."""
    net = InputLayer((None, 1, 8, 8), input_var, name="input")
    net = Conv2DLayer(net, 16, (3, 3), pad="same", name="conv1")
    net = MaxPool2DLayer(net, (2, 2), name="pool1")
    net = Conv2DLayer(net, 32, (3, 3), pad="same", name="conv2")
    net = MaxPool2DLayer(net, (2, 2), name="pool2")
    net = DenseLayer(DropoutLayer(net, 0.3, name="drop"), 64, name="fc")
    return DenseLayer(net, 10, nonlinearity=lasagne.nonlinearities.softmax, name="output")


def batches(X, y, size, rng):
    order = rng.permutation(len(X))
    for start in range(0, len(X), size):
        idx = order[start:start + size]
        yield X[idx], y[idx]


def main(num_epochs=10, server="http://127.0.0.1:8120", model_name="digits-convnet",
         batch_size=64, seed=0):
    """Train, logging to ``server``; return the trained network and results."""
    lasagne.random.set_rng(np.random.RandomState(seed))
    rng = np.random.RandomState(seed)
    X_train, y_train, X_valid, y_valid = load_data(seed)
    input_var, target_var = T.tensor4("inputs"), T.ivector("targets")
    network = build_network(input_var)

    prediction = lasagne.layers.get_output(network)
    loss = lasagne.objectives.categorical_crossentropy(prediction, target_var).mean()
    params = lasagne.layers.get_all_params(network, trainable=True)
    updates = lasagne.updates.adam(loss, params, learning_rate=0.003)
    train_fn = theano.function([input_var, target_var], loss, updates=updates)

    test_prediction = lasagne.layers.get_output(network, deterministic=True)
    test_loss = lasagne.objectives.categorical_crossentropy(test_prediction, target_var).mean()
    test_acc = T.mean(T.eq(T.argmax(test_prediction, axis=1), target_var),
                      dtype=theano.config.floatX)
    valid_fn = theano.function([input_var, target_var], [test_loss, test_acc])

    log = pastalog.Log(server, model_name)
    # Each add-on compiles its Theano function now and visualizes on call.
    show_activations = lasagne_addons.activations(network, input_var, log=log)
    show_occlusion = lasagne_addons.occlusion(network, input_var, log=log, max_examples=4)
    show_saliency = lasagne_addons.gradients(network, input_var, log=log)
    show_confusion = lasagne_addons.confusion_matrix(network, input_var, log=log)
    X_show, y_show = X_valid[:64], y_valid[:64]

    for epoch in range(1, num_epochs + 1):
        start = time.time()
        train_losses = [train_fn(Xb, yb) for Xb, yb in batches(X_train, y_train, batch_size, rng)]
        valid_loss, valid_acc = valid_fn(X_valid, y_valid)
        log.write("train_loss", float(np.mean(train_losses)), step=epoch)
        log.write("valid_loss", float(valid_loss), step=epoch)
        log.write("valid_accuracy", float(valid_acc), step=epoch)

        show_activations(X_show, step=epoch)
        show_occlusion(X_show, y_show, step=epoch)
        show_saliency(X_show, step=epoch)
        confusion = show_confusion(X_valid, y_valid, step=epoch)
        print("epoch %d/%d  train_loss %.3f  valid_loss %.3f  valid_accuracy %.3f  (%.1f s)"
              % (epoch, num_epochs, np.mean(train_losses), valid_loss, valid_acc,
                 time.time() - start))

    delivered = log.flush(timeout=30)
    log.close()
    return {"network": network, "input_var": input_var, "model_name": model_name,
            "valid_accuracy": float(valid_acc), "confusion": confusion["cm"],
            "delivered": delivered, "data": (X_train, y_train, X_valid, y_valid)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="training epochs (default 10)")
    parser.add_argument("--server", default="http://127.0.0.1:8120",
                        help="pastalog server URL or port (default http://127.0.0.1:8120)")
    parser.add_argument("--model", default="digits-convnet", help="model name to log under")
    args = parser.parse_args()
    main(num_epochs=args.epochs, server=args.server, model_name=args.model)
