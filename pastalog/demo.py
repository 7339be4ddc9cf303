"""Simulated training runs that log live, for ``pastalog run --demo``."""
import math
import random
import time

from .client import Log

__all__ = ["run_demo"]


def _digit_image(step, seed):
    """A small synthetic 'feature map' that changes with training, as uint8 RGB."""
    import numpy as np

    y, x = np.mgrid[0:32, 0:32] / 31.0
    phase = step / 40.0 + seed
    r = 0.5 + 0.5 * np.sin(6 * x + phase) * np.cos(4 * y - phase)
    g = 0.5 + 0.5 * np.cos(5 * (x - y) + phase / 2)
    b = np.clip(1.0 - ((x - 0.5) ** 2 + (y - 0.5) ** 2) * 4, 0, 1)
    return (np.stack([r, g, b], axis=-1) * 255).astype(np.uint8)


def run_demo(server, *, models=3, steps=0, interval=0.1):
    """Log ``models`` simulated runs to ``server`` until stopped (or ``steps`` steps)."""
    rng = random.Random(0)
    runs = []
    for i in range(models):
        name = f"demo_{['sgd', 'adam', 'rmsprop', 'adagrad'][i % 4]}_{i}"
        # No spool: demo points left unsent at exit must not haunt the next real run.
        log = Log(server, name, spool_dir=False)
        runs.append((log, 0.5 + rng.random(), 0.002 + 0.004 * rng.random(), i))
    step = 0
    try:
        while not steps or step < steps:
            for log, start, rate, seed in runs:
                decay = math.exp(-rate * step)
                noise = rng.gauss(0, 0.05)
                log.write_many({
                    "train_loss": start * decay + 0.1 + abs(noise),
                    "valid_loss": start * decay * 1.1 + 0.15 + abs(noise) / 2,
                    "accuracy": 1 - 0.9 * decay - abs(noise) / 5,
                    "conv1/mean": 0.2 + 0.1 * math.sin(step / 50 + seed),
                    "conv1/std": 0.5 * decay + 0.1,
                }, step=step)
                if step % 25 == 0:
                    try:
                        log.image("conv1/filters", _digit_image(step, seed), step=step)
                    except ImportError:
                        pass
            step += 1
            time.sleep(interval)
    except KeyboardInterrupt:
        pass
    finally:
        for log, *_ in runs:
            log.close()
    return 0
