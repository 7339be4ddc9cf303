#!/usr/bin/env python
"""Log a nolearn ``NeuralNet``'s training to pastalog with ``PastalogCallback``.

The same small conv net as ``mnist_lasagne.py``, on scikit-learn's bundled
8x8 digits, trained by nolearn.  The callback writes every number of nolearn's
history row each epoch (``train_loss``, ``valid_loss``, ``valid_accuracy``,
``dur``, the ``*_best`` flags as 0/1), the time of each batch, and runs the
saliency and confusion-matrix add-ons every ``--vis-every`` epochs on held-out
digits.

Start a server (``pastalog run 8120``), then::

    python examples/nolearn_callback.py --epochs 10 --server http://127.0.0.1:8120

nolearn 0.6.1 itself imports only on Python <= 3.9 with scikit-learn < 0.20
(``collections.Iterable``, ``sklearn.cross_validation``); the test suite runs
this example on 3.11 through ``tests/legacy/nolearn_compat.py``.
"""

import argparse

import numpy as np

from pastalog import lasagne_addons  # first: it makes Theano importable (see _compat)
from pastalog.nolearn import PastalogCallback

import lasagne
import theano.tensor as T
from lasagne.layers import Conv2DLayer, DenseLayer, DropoutLayer, InputLayer, MaxPool2DLayer


def load_data():
    """All 1,797 digits as (N, 1, 8, 8) float32 in [0, 1] and int32 labels."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
    return X, digits.target.astype(np.int32)


def main(num_epochs=10, server="http://127.0.0.1:8120", model_name="digits-nolearn",
         vis_every=2, seed=0):
    """Fit the net with the callback; return the fitted ``NeuralNet``."""
    try:
        from nolearn.lasagne import NeuralNet
    except ImportError as exc:
        raise SystemExit("this example needs nolearn 0.6.1 (see the docstring): %s" % exc)

    lasagne.random.set_rng(np.random.RandomState(seed))
    X, y = load_data()
    X_hold, y_hold = X[-64:], y[-64:]      # digits the net never trains on
    X, y = X[:-64], y[:-64]

    # The network as Lasagne layers, so the add-ons can compile against it
    # before nolearn takes it over.
    input_var = T.tensor4("inputs")
    network = InputLayer((None, 1, 8, 8), input_var, name="input")
    network = Conv2DLayer(network, 16, (3, 3), pad="same", name="conv1")
    network = MaxPool2DLayer(network, (2, 2), name="pool1")
    network = Conv2DLayer(network, 32, (3, 3), pad="same", name="conv2")
    network = MaxPool2DLayer(network, (2, 2), name="pool2")
    network = DenseLayer(DropoutLayer(network, 0.3, name="drop"), 64, name="fc")
    network = DenseLayer(network, 10, nonlinearity=lasagne.nonlinearities.softmax,
                         name="output")

    callback = PastalogCallback(
        server, model_name,
        visualizers=[lasagne_addons.gradients(network, input_var),
                     lasagne_addons.confusion_matrix(network, input_var)],
        X=X_hold, y=y_hold, every=vis_every)
    net = NeuralNet(
        layers=[network],
        update=lasagne.updates.adam,
        update_learning_rate=0.003,
        max_epochs=num_epochs,
        on_epoch_finished=[callback],
        on_batch_finished=[callback],
        verbose=0,
    )
    net.fit(X, y)

    for row in net.train_history_:
        print("epoch %(epoch)d  train_loss %(train_loss).3f  valid_loss %(valid_loss).3f  "
              "valid_accuracy %(valid_accuracy).3f" % row)
    callback.log.flush(timeout=30)
    callback.log.close()
    return net


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="training epochs (default 10)")
    parser.add_argument("--server", default="http://127.0.0.1:8120",
                        help="pastalog server URL or port (default http://127.0.0.1:8120)")
    parser.add_argument("--model", default="digits-nolearn", help="model name to log under")
    parser.add_argument("--vis-every", type=int, default=2,
                        help="run the add-ons every N epochs (default 2)")
    args = parser.parse_args()
    main(num_epochs=args.epochs, server=args.server, model_name=args.model,
         vis_every=args.vis_every)
