"""Trains a solved generalisation model on, then scores it at long lengths.

The paper's generalisation claim (ICML 2013, section 4.1: one temporal-order
model trained on lengths 50-200 had 0 errors of 10,000 at every length up to
5,000) is about one model at the moment its training stopped. This script
asks how much that depends on the moment: it loads a model saved by
`reproduce_synthetic.py` when it reached zero errors on every length of its
range, trains it on with `keras_rnncr.tasks.task_model` (`--method`: SGD-CR
with the sweep's alpha, or SGD-C, alpha 0) on fresh batches of the same range,
screens it every `--screen-every` updates (1,500 sequences shared over every
length of the range) and, when a screen has no error, scores 10,000 such
sequences; at zero errors there, the run stops and the model is scored at
`--test-lengths` on the sequences `reproduce_synthetic.py --generalise` uses
(10,000 per length, the same seeds). Writes a JSON record.

    MODELS=benchmarks/results/models
    python benchmarks/generalisation_finetune.py --threads 1 \\
        --model $MODELS/temporal_order_50-200_basic_tanh_sgd-cr_s0.keras \\
        --method sgd-c --budget 60000 \\
        --output benchmarks/results/synthetic/generalisation_finetune_s0_sgd-c.json
"""

import argparse
import json
import pathlib
import time

import _common
import _resumable
from reproduce_synthetic import score_at_length


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--model", required=True, help="a solved .keras model")
    parser.add_argument("--method", choices=["sgd-c", "sgd-cr"], default="sgd-c")
    parser.add_argument("--scheme", default="basic_tanh", help="the model's")
    parser.add_argument("--omega", type=float, default=4.0, help="alpha of sgd-cr")
    parser.add_argument("--min-length", type=int, default=50)
    parser.add_argument("--max-length", type=int, default=200, help="exclusive")
    parser.add_argument("--budget", type=int, default=60000, help="updates")
    parser.add_argument("--screen-every", type=int, default=1000)
    parser.add_argument("--data-seed", type=int, default=2000)
    parser.add_argument(
        "--test-lengths",
        type=int,
        nargs="+",
        default=[200, 250, 500, 1000, 2000, 3000, 5000],
    )
    parser.add_argument("--threads", type=int, default=0, help="0: TF's default")
    parser.add_argument("--output", required=True, help="JSON record")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import keras

    import keras_rnncr  # noqa: F401 (registers the layers for loading)
    from keras_rnncr.tasks import evaluate_task, task_model, temporal_order

    _resumable.set_threads(args.threads)
    weights = keras.saving.load_model(args.model).get_weights()
    model = task_model(
        "temporal_order",
        args.method,
        units=weights[1].shape[0],  # its recurrent kernel's
        scheme=args.scheme,
        omega=args.omega,
        jit_compile=False,  # one XLA compilation per length would dominate
    )
    model.set_weights(weights)
    span = {"min_length": args.min_length, "max_length": args.max_length}
    record = {
        "command": vars(args),
        "machine": _common.machine(),
        "screens": [],
        "stopped_at": None,
        "long": {},
    }
    start = time.perf_counter()

    class Screen(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            done = (epoch + 1) * args.screen_every
            screen = evaluate_task(
                model,
                "temporal_order",
                1500,
                lengths="every",
                seed=10_000 + done,
                **span,
            )
            entry = {"updates": done, "screen_errors": screen["num_errors"]}
            if screen["num_errors"] == 0:
                full = evaluate_task(
                    model,
                    "temporal_order",
                    10000,
                    lengths="every",
                    seed=20_000 + done,
                    **span,
                )
                entry["errors_of_10000"] = full["num_errors"]
                if full["num_errors"] == 0:
                    record["stopped_at"] = done
                    self.model.stop_training = True
            record["screens"].append(entry)
            print(f"+{done} ({time.perf_counter() - start:.0f} s): {entry}", flush=True)

    model.fit(
        temporal_order(batch_size=20, seed=args.data_seed, **span),
        steps_per_epoch=args.screen_every,
        epochs=args.budget // args.screen_every,
        verbose=0,
        callbacks=[Screen()],
    )
    if record["stopped_at"] is not None:
        for length in args.test_lengths:
            result = score_at_length(model, "temporal_order", length, 10000)
            record["long"][str(length)] = result["num_errors"]
            print(f"at {length}: {result['num_errors']} errors of 10,000", flush=True)
    record["wall_seconds"] = time.perf_counter() - start
    output = pathlib.Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
