"""Argument checks shared by the metrics."""


def check_from_logits(from_logits):
    """Returns `from_logits` if it is a bool, else raises `ValueError`."""
    if not isinstance(from_logits, bool):
        raise ValueError(
            "Argument `from_logits` must be a bool (True or False). "
            f"Received: from_logits={from_logits!r}"
        )
    return from_logits
