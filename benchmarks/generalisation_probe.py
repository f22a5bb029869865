"""Where a temporal-order model loses the answer on sequences longer than its range.

The generalisation models of `reproduce_synthetic.py` (trained on lengths
50-199 to zero errors) fail past about 250 steps. This script asks whether the
answer is gone from the hidden state or only read wrongly by the head: it runs
each model on `--sequences` sequences of `--length` steps (float64 NumPy, the
model's own weights) and, at fractions of the sequence (`--fractions`), fits a
linear read-out (least squares on one-hot targets, a small ridge) of the first
symbol `v0` and, from the end of the second symbol's window (60% of the
length) on, of the class, on the states of the first `--fit` sequences, and
scores it on the others. An error the refitted read-out shares with the head
means the state no longer holds the answer. Writes a JSON record and prints a
line per model.

    python benchmarks/generalisation_probe.py --length 1000 \\
        --output benchmarks/results/synthetic/generalisation_probe.json
"""

import argparse
import json
import pathlib

import _common
import numpy as np
from reproduce_synthetic import commit

RIDGE = 1e-3
ACTIVATIONS = {"tanh": np.tanh, "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z))}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--models",
        nargs="+",
        help=".keras files (default: the manifest's generalisation models)",
    )
    parser.add_argument("--models-dir", default="benchmarks/results/models")
    parser.add_argument("--length", type=int, default=1000)
    parser.add_argument("--sequences", type=int, default=4000)
    parser.add_argument("--fit", type=int, default=3000, help="sequences to fit on")
    parser.add_argument(
        "--fractions",
        type=float,
        nargs="+",
        default=[0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0],
    )
    parser.add_argument("--seed", type=int, default=0, help="of the sequences")
    parser.add_argument("--output", help="JSON record")
    args = parser.parse_args(argv)
    if not 0 < args.fit < args.sequences:
        parser.error(
            f"--fit must be in (0, --sequences={args.sequences}), got {args.fit}"
        )
    if any(not 0 < f <= 1 for f in args.fractions):
        parser.error(f"--fractions must be in (0, 1], got {args.fractions}")
    return args


def readout_error(states, labels, classes, fit):
    """Test error of a least-squares linear read-out fitted on `fit` rows."""
    features = np.hstack([states, np.ones((len(states), 1))])
    targets = np.eye(classes)[labels]
    train = features[:fit]
    weights = np.linalg.solve(
        train.T @ train + RIDGE * np.eye(features.shape[1]), train.T @ targets[:fit]
    )
    return float(np.mean((features[fit:] @ weights).argmax(1) != labels[fit:]))


def model_weights(model):
    """`(kernel, recurrent_kernel, bias, activation, head_kernel, head_bias)`."""
    rnn, head = model.get_layer("rnn"), model.get_layer("head")
    activation = rnn.cell.activation.__name__
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"the model's recurrent activation must be one of {sorted(ACTIVATIONS)}, "
            f"got {activation!r}"
        )
    cell = rnn.cell
    bias = cell.bias.numpy() if cell.use_bias else np.zeros(cell.units)
    as64 = lambda v: np.asarray(v, np.float64)  # noqa: E731
    return (
        as64(cell.kernel.numpy()),
        as64(cell.recurrent_kernel.numpy()),
        as64(bias),
        ACTIVATIONS[activation],
        as64(head.kernel.numpy()),
        as64(head.bias.numpy()),
    )


def probe(model, inputs, targets, fractions, fit):
    """The record of one model on `(inputs, targets)`."""
    kernel, recurrent, bias, activation, head_kernel, head_bias = model_weights(model)
    length = inputs.shape[1]
    first = targets % 2
    marks = sorted({max(1, int(round(f * length))) for f in fractions})
    state = np.zeros((len(inputs), recurrent.shape[0]))
    rows = []
    for t in range(length):
        state = activation(inputs[:, t] @ kernel + state @ recurrent + bias)
        if t + 1 in marks:
            row = {"step": t + 1, "first_symbol": readout_error(state, first, 2, fit)}
            if t + 1 >= int(0.6 * length):
                row["class"] = readout_error(state, targets, 4, fit)
            rows.append(row)
    logits = state @ head_kernel + head_bias
    head = float(np.mean(logits[fit:].argmax(1) != targets[fit:]))
    return {"head_error": head, "readouts": rows}


def main(argv=None):
    args = parse_args(argv)
    import keras

    import keras_rnncr  # noqa: F401 (registers the layers for loading)
    from keras_rnncr.tasks.temporal_order import temporal_order_batch

    directory = pathlib.Path(args.models_dir)
    files = args.models or [
        str(directory / e["file"])
        for e in json.loads((directory / "manifest.json").read_text())
        if e["generalisation"]
    ]
    inputs, targets = temporal_order_batch(
        args.length, args.sequences, np.random.default_rng(args.seed)
    )
    inputs = inputs.astype(np.float64)
    record = {
        "command": vars(args),
        "machine": _common.machine(),
        "commit": commit(),
        "models": {},
    }
    for file in files:
        model = keras.saving.load_model(file)
        result = probe(model, inputs, targets, args.fractions, args.fit)
        record["models"][pathlib.Path(file).name] = result
        steps = " | ".join(
            f"{r['step']}: v0 {r['first_symbol']:.2f}"
            + (f" class {r['class']:.2f}" if "class" in r else "")
            for r in result["readouts"]
        )
        print(f"{pathlib.Path(file).stem}: head {result['head_error']:.3f} | {steps}")
    if args.output:
        path = pathlib.Path(args.output)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, indent=1))
    return record


if __name__ == "__main__":
    main()
