"""Run configuration helpers shared by the W&B-style API and the callbacks."""

__all__ = ["flatten"]


def flatten(data, prefix=""):
    """Nested dicts as one level, keys joined with ``/`` (``optimizer/lr``).

    Examples
    --------
    >>> flatten({"optimizer": {"lr": 0.1, "betas": [0.9, 0.99]}, "epochs": 3})
    {'optimizer/lr': 0.1, 'optimizer/betas': [0.9, 0.99], 'epochs': 3}
    """
    out = {}
    for key, value in data.items():
        name = f"{prefix}/{key}" if prefix else str(key)
        if isinstance(value, dict):
            out.update(flatten(value, name))
        else:
            out[name] = value
    return out
