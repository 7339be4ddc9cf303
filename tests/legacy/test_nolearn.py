"""PastalogCallback inside real nolearn NeuralNet training runs."""

import numpy as np

import pastalog
from pastalog import lasagne_addons  # noqa: F401  (Theano first, then nolearn)
from pastalog.nolearn import PastalogCallback

import lasagne
import theano.tensor as T

from nolearn_compat import import_nolearn_lasagne

NeuralNet = import_nolearn_lasagne().NeuralNet

import nolearn_callback  # noqa: E402


def test_example_logs_history_batches_and_addons(server, image_dir):
    net = nolearn_callback.main(num_epochs=3, server=server.url, model_name="digits-nolearn",
                                vis_every=2)
    assert len(net.train_history_) == 3
    series, images = server.model("digits-nolearn")
    for name in ["train_loss", "valid_loss", "valid_accuracy", "dur", "train_loss_best",
                 "valid_loss_best"]:
        assert (series[name]["count"], series[name]["last_step"]) == (3, 3), name
    steps, values = server.series("digits-nolearn", "train_loss_best")
    assert steps == [1, 2, 3] and set(values) <= {0.0, 1.0}
    _, accuracy = server.series("digits-nolearn", "valid_accuracy")
    assert np.allclose(accuracy, [row["valid_accuracy"] for row in net.train_history_])
    assert series["batch/seconds"]["count"] > 3 * 5
    for name in ["saliency/grid", "confusion/matrix"]:
        steps = [im["step"] for im in server.get_json(
            "/api/v1/images?model=digits-nolearn&name=" + name.replace("/", "%2F"))[1]["images"]]
        assert steps == [1, 3], name
        server.png("digits-nolearn", name, save_dir=image_dir)


def test_custom_scores_and_a_log_object(server):
    x = T.matrix("x")
    l_in = lasagne.layers.InputLayer((None, 64), x)
    l_out = lasagne.layers.DenseLayer(lasagne.layers.DenseLayer(l_in, 32), 10,
                                      nonlinearity=lasagne.nonlinearities.softmax)
    from sklearn.datasets import load_digits
    digits = load_digits()
    X, y = (digits.data / 16.0).astype(np.float32), digits.target.astype(np.int32)
    log = pastalog.Log(server.url, "digits-mlp")
    cb = PastalogCallback(log, batch_series="batches/seconds")
    net = NeuralNet(layers=[l_out], update=lasagne.updates.adam, update_learning_rate=0.01,
                    max_epochs=2, verbose=0,
                    custom_scores=[("error", lambda t, p: float(np.mean(p.argmax(1) != t)))],
                    on_epoch_finished=[cb], on_batch_finished=[cb])
    net.fit(X, y)
    assert log.flush(timeout=30)
    series, _ = server.model("digits-mlp")
    assert series["error"]["count"] == 2
    assert "batches/seconds" in series and "batch/seconds" not in series
