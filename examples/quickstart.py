"""The brief's README example: two models, train_loss and valid_loss.

Start a server first (``pastalog run 8120``), then ``python examples/quickstart.py``
and open http://127.0.0.1:8120.
"""
import argparse
import math

import pastalog


def main(server=8120, epochs=50):
    """Log two short simulated runs to ``server``; returns whether all arrived."""
    log = pastalog.Log(server, 'model_1')
    log2 = pastalog.Log(server, 'model_2')
    for epoch in range(epochs):
        log.write('train_loss', 2.7 * math.exp(-epoch / 15) + 0.2)
        log.write('valid_loss', 2.6 * math.exp(-epoch / 18) + 0.3)
        log2.write('train_loss', 2.7 * math.exp(-epoch / 8) + 0.1)
        log2.write('valid_loss', 2.6 * math.exp(-epoch / 10) + 0.35)
    delivered = log.flush(timeout=10) and log2.flush(timeout=10)
    log.close()
    log2.close()
    return delivered


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--server', default='8120', help='port or URL of the server')
    parser.add_argument('--epochs', type=int, default=50)
    args = parser.parse_args()
    print('delivered' if main(args.server, args.epochs) else 'NOT delivered (is it running?)')
