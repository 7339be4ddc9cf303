#!/usr/bin/env python
"""Train a tiny BERT classifier with the Transformers ``Trainer``, logging to pastalog.

Nothing is downloaded: the model is built from a ``BertConfig`` (2 layers,
hidden size 32) and the data are synthetic token sequences whose label says
whether token 7 occurs in them.  ``PastalogCallback`` logs every Trainer log
as a series at the global step: ``train/loss``, ``train/learning_rate``,
``train/grad_norm``, ``train/epoch``, ``eval/loss``, ``eval/accuracy``.

Start a server (``pastalog run 8120``), then::

    python examples/transformers_tiny.py --steps 60 --server http://127.0.0.1:8120

Needs Transformers and PyTorch (``pip install 'pastalog[transformers,torch]'``).
"""

import argparse
import tempfile

import numpy as np
import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

from pastalog.transformers import PastalogCallback

VOCAB, LENGTH, MARKER = 32, 12, 7


class Sequences(torch.utils.data.Dataset):
    """Random token ids without ``MARKER``; half of them get it once (label 1)."""

    def __init__(self, n, seed):
        rng = np.random.RandomState(seed)
        others = np.array([t for t in range(1, VOCAB) if t != MARKER])
        ids = others[rng.randint(0, len(others), size=(n, LENGTH))]
        labels = rng.rand(n) < 0.5
        ids[labels, rng.randint(0, LENGTH, size=int(labels.sum()))] = MARKER
        self.ids, self.labels = torch.from_numpy(ids), torch.from_numpy(labels.astype(np.int64))

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "attention_mask": torch.ones(LENGTH, dtype=torch.long),
                "labels": self.labels[i]}


def accuracy(eval_pred):
    logits, labels = eval_pred
    return {"accuracy": float((np.argmax(logits, axis=1) == labels).mean())}


def main(num_steps=60, server="http://127.0.0.1:8120", model_name="tiny-bert", seed=0,
         output_dir=None):
    """Train, logging to ``server``; return the trainer, the callback and the last metrics."""
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=32,
                        num_labels=2)
    model = BertForSequenceClassification(config)
    with tempfile.TemporaryDirectory() as scratch:
        args = TrainingArguments(output_dir=output_dir or scratch, run_name=model_name,
                                 max_steps=num_steps, per_device_train_batch_size=32,
                                 per_device_eval_batch_size=128, learning_rate=3e-3,
                                 logging_steps=5, eval_strategy="steps", eval_steps=20,
                                 save_strategy="no", report_to="none", use_cpu=True,
                                 seed=seed, disable_tqdm=True)
        callback = PastalogCallback(server, model_name)
        trainer = Trainer(model=model, args=args, train_dataset=Sequences(1024, seed),
                          eval_dataset=Sequences(256, seed + 1), compute_metrics=accuracy,
                          callbacks=[callback])
        trainer.train()
        metrics = trainer.evaluate()
    print("eval_loss %.3f  eval_accuracy %.3f after %d steps"
          % (metrics["eval_loss"], metrics["eval_accuracy"], num_steps))
    return {"trainer": trainer, "callback": callback, "metrics": metrics,
            "history": trainer.state.log_history, "delivered": callback.log.flush(timeout=30)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60, help="training steps (default 60)")
    parser.add_argument("--server", default="http://127.0.0.1:8120",
                        help="pastalog server URL or port (default http://127.0.0.1:8120)")
    parser.add_argument("--model", default="tiny-bert", help="model name to log under")
    args = parser.parse_args()
    main(num_steps=args.steps, server=args.server, model_name=args.model)
