"""Figure 7 of Pascanu et al. (ICML 2013): SGD, SGD-C and SGD-CR under an update budget.

Sweeps task x length x method x seed. Every run is `keras_rnncr.tasks.task_model`
(50 tanh units, basic-tanh initialisation, batch 20, learning rate 0.01, clipping
threshold 1, alpha 4; the paper's Figure 7 settings) trained for at most
`--max-updates` updates, and is scored with `keras_rnncr.tasks.evaluate_task` (10000
fresh sequences in chunks of 1000 with their own random length; success = under 1%
errors, also reported: the released code's zero-error rule).

Lengths. A sweep point `T` trains and evaluates on lengths drawn as the released code
draws them (`keras_rnncr.tasks.sample_length`: uniform over `[min, max - 1]`), with
`[min, max) = [T, T + T // 10)` (`--length-spread 0.1`), i.e. Hochreiter &
Schmidhuber's temporal order convention of lengths in `[T, 1.1 T)`. `--ranges 50:200`
adds runs trained on the paper's range `[50, 200)` (used for the generalisation test).

Speed. The models of one length range (all methods and seeds still running) are
trained together: one `tf.function` (XLA with `--jit-compile`, the default) calls
each model and applies its own optimizer (`ClippedOptimizer` for SGD-C/CR), i.e.
the library's code path, `model.compute_loss` included (it adds the Omega probe).
All models of a step share its length; the three methods of one seed share the
very same batches (so the methods are compared on identical data and
initialisation). Batches are generated with the tasks' numpy generators from
`numpy.random.default_rng([seed, update])` and the length from
`default_rng([range_seed, update])`, so a run does not depend on which other runs
share its steps.

Every `--eval-every` updates each running model is screened on
`--screen-sequences` fresh sequences; when the screen is under 1% errors the full
`evaluate_task` protocol decides, and a model that succeeds stops training (the
paper's rule). Models that never succeed get the full evaluation after the budget.

Outputs in `--output-dir` (resumable: runs already in the JSON are skipped, so a
sweep can run in chunks): `<name>.json` (every run: task, length range, method,
seed, updates done, wall and CPU seconds, updates/s, final error with both success
rules, screening history), `<name>.md` (table) and `<name>_fig7.png` (success rate
against length, one curve per method), `<name>` = `--results-name` (default
`synthetic`). The committed sweep and the generalisation test:

    nice -n 10 python benchmarks/reproduce_synthetic.py --lengths 200 100 50 20 \\
        --seeds 0 1 2 --max-updates 6000 --eval-every 500 --threads 1
    nice -n 10 python benchmarks/reproduce_synthetic.py --lengths --ranges 50:200 \\
        --max-updates 40000 --eval-every 1000 --threads 1 --save-dir runs/sweep \\
        --results-name synthetic_range40k
    python benchmarks/reproduce_synthetic.py --threads 1 --generalisation-model \\
        runs/sweep/temporal_order_50-200_sgd-cr_s0.keras \\
        --test-lengths 50 200 500 1000 5000 --test-sequences 10000
"""

import argparse
import json
import os
import pathlib
import platform
import time

import numpy as np
import tensorflow as tf

RANGE_SEED = 7919


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=["temporal_order"])
    parser.add_argument("--lengths", nargs="*", type=int, default=[20, 50, 100, 200])
    parser.add_argument(
        "--length-spread",
        type=float,
        default=0.1,
        help="sweep point T trains on [T, T + int(spread * T)) (at least 1 length)",
    )
    parser.add_argument(
        "--ranges",
        nargs="*",
        default=[],
        help="extra training ranges MIN:MAX (exclusive MAX), e.g. 50:200",
    )
    parser.add_argument(
        "--range-methods",
        nargs="+",
        default=["sgd-cr"],
        help="methods trained on the extra --ranges",
    )
    parser.add_argument(
        "--range-seeds",
        nargs="+",
        type=int,
        default=[0],
        help="seeds trained on the extra --ranges",
    )
    parser.add_argument("--methods", nargs="+", default=["sgd", "sgd-c", "sgd-cr"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--max-updates", type=int, default=30000)
    parser.add_argument("--eval-every", type=int, default=1000)
    parser.add_argument("--screen-sequences", type=int, default=1000)
    parser.add_argument("--eval-sequences", type=int, default=10000)
    parser.add_argument("--units", type=int, default=50)
    parser.add_argument("--init", default="basic_tanh")
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--learning-rate", type=float, default=0.01)
    parser.add_argument("--threshold", type=float, default=1.0)
    parser.add_argument("--alpha", type=float, default=4.0)
    parser.add_argument(
        "--jit-compile", action=argparse.BooleanOptionalAction, default=True
    )
    parser.add_argument(
        "--jit-max-lengths",
        type=int,
        default=25,
        help="use XLA only for ranges of at most this many lengths (XLA compiles "
        "once per length)",
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--output-dir", default="benchmarks/results")
    parser.add_argument(
        "--results-name",
        default="synthetic",
        help="stem of the JSON, table and plot files (for runs done in parallel)",
    )
    parser.add_argument("--save-dir", default=None, help="save each model here")
    parser.add_argument(
        "--stop-after-seconds",
        type=float,
        default=None,
        help="do not start a new length range after this much wall time",
    )
    parser.add_argument(
        "--generalisation-model",
        nargs="+",
        default=None,
        help="instead of sweeping, evaluate these saved models at --test-lengths",
    )
    parser.add_argument(
        "--test-lengths", nargs="+", type=int, default=[500, 1000, 5000]
    )
    parser.add_argument(
        "--test-sequences",
        nargs="+",
        type=int,
        default=[10000],
        help="sequences per test length (one value, or one per length)",
    )
    parser.add_argument(
        "--group-time-limit",
        type=float,
        default=None,
        help="end a length range's training at the first check after this many "
        "seconds (its runs record `time_limited`)",
    )
    parser.add_argument(
        "--report-only", action="store_true", help="only rewrite table and plot"
    )
    return parser.parse_args(argv)


def length_ranges(args):
    """(task, min_length, max_length, methods, seeds) of every group to train."""
    groups = []
    for task in args.tasks:
        for text in args.ranges:
            low, high = (int(v) for v in text.split(":"))
            groups.append((task, low, high, args.range_methods, args.range_seeds))
        for length in args.lengths:
            spread = max(1, int(args.length_spread * length))
            groups.append((task, length, length + spread, args.methods, args.seeds))
    return groups


def run_key(run):
    return (
        run["task"],
        run["min_length"],
        run["max_length"],
        run["method"],
        run["seed"],
    )


def load_results(path):
    if path.exists():
        return json.loads(path.read_text())
    return {"runs": []}


def machine():
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "gpus": len(tf.config.list_physical_devices("GPU")),
    }


class JointTrainer:
    """Steps several Keras models, each with its own optimizer, in one tf.function."""

    def __init__(self, models, jit_compile):
        self.models = list(models)
        for model in self.models:
            model.optimizer.build(model.trainable_variables)

        def update(model, inputs, targets):
            with tf.GradientTape() as tape:
                predictions = model(inputs, training=True)
                loss = model.compute_loss(
                    x=inputs, y=targets, y_pred=predictions, training=True
                )
            variables = model.trainable_variables
            model.optimizer.apply(tape.gradient(loss, variables), variables)
            return loss

        @tf.function(jit_compile=jit_compile, reduce_retracing=True)
        def step(inputs, targets):
            return [
                update(model, x, y)
                for model, x, y in zip(self.models, inputs, targets, strict=True)
            ]

        self.step = step


def make_predictor(model):
    """Inference function traced once for any batch size and length."""
    spec = tf.TensorSpec((None, None, model.input_shape[-1]), tf.float32)
    return tf.function(lambda x: model(x, training=False), input_signature=[spec])


def train_group(task, min_length, max_length, jobs, args):
    """Trains the (method, seed) `jobs` of one length range jointly; returns runs."""
    import keras

    import keras_rnncr

    spec = keras_rnncr.tasks.get_task(task)
    jit_compile = args.jit_compile and max_length - min_length <= args.jit_max_lengths
    models, predictors = [], []
    for method, seed in jobs:
        keras.utils.set_random_seed(seed)
        model = keras_rnncr.tasks.task_model(
            task,
            method=method,
            units=args.units,
            scheme=args.init,
            learning_rate=args.learning_rate,
            threshold=args.threshold,
            omega=args.alpha,
            seed=seed,
            jit_compile=jit_compile,
        )
        models.append(model)
        predictors.append(make_predictor(model))
    seeds = sorted({seed for _, seed in jobs})
    active = list(range(len(jobs)))
    state = [
        {"updates": 0, "solved_at": None, "history": [], "final": None, "stop": None}
        for _ in jobs
    ]
    evaluation = dict(min_length=min_length, max_length=max_length)
    trainer = JointTrainer(models, jit_compile)
    start, cpu_start = time.perf_counter(), time.process_time()
    lengths_seen = set()
    update = 0
    out_of_time = False
    while active and update < args.max_updates and not out_of_time:
        length = keras_rnncr.tasks.sample_length(
            min_length, max_length, np.random.default_rng([RANGE_SEED, update])
        )
        lengths_seen.add(length)
        batches = {
            seed: [
                tf.constant(a)
                for a in spec.batch_fn(
                    length, args.batch_size, np.random.default_rng([seed, update])
                )
            ]
            for seed in seeds
        }
        inputs = [batches[jobs[i][1]][0] for i in active]
        targets = [batches[jobs[i][1]][1] for i in active]
        trainer.step(inputs, targets)
        update += 1
        for i in active:
            state[i]["updates"] = update
        if update % args.eval_every and update < args.max_updates:
            continue
        limit = args.group_time_limit
        out_of_time = bool(limit) and time.perf_counter() - start > limit
        finished = []
        for i in active:
            seed = jobs[i][1]
            screen = keras_rnncr.tasks.evaluate_task(
                predictors[i],
                task,
                num_sequences=args.screen_sequences,
                chunk_size=min(1000, args.screen_sequences),
                seed=10_000 + 1000 * seed + update // args.eval_every,
                **evaluation,
            )
            state[i]["history"].append([update, screen["error_percent"]])
            if screen["success"] or update >= args.max_updates or out_of_time:
                full = keras_rnncr.tasks.evaluate_task(
                    predictors[i],
                    task,
                    num_sequences=args.eval_sequences,
                    seed=1_000_000 + seed,
                    **evaluation,
                )
                state[i]["final"] = full
                if full["success"]:
                    state[i]["solved_at"] = update
                    finished.append(i)
        seconds = time.perf_counter() - start
        for i in finished:
            state[i]["stop"] = seconds
        print(
            f"{task} [{min_length},{max_length}) update {update} {seconds:.0f}s "
            + " ".join(
                f"{jobs[i][0]}/s{jobs[i][1]}={state[i]['history'][-1][1]:.1f}%"
                for i in active
            ),
            flush=True,
        )
        if finished:
            active = [i for i in active if i not in finished]
            if active:
                trainer = JointTrainer([models[i] for i in active], jit_compile)
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    runs = []
    for (method, seed), model, run in zip(jobs, models, state, strict=True):
        wall = run["stop"] or seconds
        final = run["final"]
        if args.save_dir:
            directory = pathlib.Path(args.save_dir)
            directory.mkdir(parents=True, exist_ok=True)
            model.save(
                directory / f"{task}_{min_length}-{max_length}_{method}_s{seed}.keras"
            )
        runs.append(
            {
                "task": task,
                "min_length": min_length,
                "max_length": max_length,
                "method": method,
                "seed": seed,
                "max_updates": args.max_updates,
                "updates": run["updates"],
                "time_limited": out_of_time and run["solved_at"] is None,
                "solved_at": run["solved_at"],
                "wall_seconds": wall,
                "updates_per_second": run["updates"] / wall,
                "joint_models": len(jobs),
                "group_wall_seconds": seconds,
                "group_cpu_seconds": cpu_seconds,
                "group_model_updates_per_second": sum(s["updates"] for s in state)
                / seconds,
                "jit_compile": jit_compile,
                "distinct_lengths": len(lengths_seen),
                "final_error_percent": final["error_percent"],
                "success": final["success"],
                "solved_zero_errors": final["solved_zero_errors"],
                "eval_sequences": final["num_sequences"],
                "screen_history": run["history"],
            }
        )
    return runs


def write_table(results, path):
    runs = results["runs"]
    methods = sorted({r["method"] for r in runs}, key=["sgd", "sgd-c", "sgd-cr"].index)
    groups = sorted({(r["task"], r["min_length"], r["max_length"]) for r in runs})
    lines = [
        "| task | lengths | "
        + " | ".join(
            f"{m}: <1% / 0 err (n) | {m}: median final error % | {m}: solved at"
            for m in methods
        )
        + " | group wall s |",
        "|---|---|" + "---|---|---|" * len(methods) + "---|",
    ]
    walls = []
    for task, low, high in groups:
        cells = []
        for method in methods:
            group = [
                r
                for r in runs
                if (r["task"], r["min_length"], r["max_length"], r["method"])
                == (task, low, high, method)
            ]
            if not group:
                cells += ["-", "-", "-"]
                continue
            success = sum(r["success"] for r in group)
            zero = sum(r["solved_zero_errors"] for r in group)
            error = float(np.median([r["final_error_percent"] for r in group]))
            solved = [str(r["solved_at"]) for r in group if r["solved_at"]]
            cells += [
                f"{success} / {zero} ({len(group)})",
                f"{error:.2f}",
                ", ".join(solved) or "-",
            ]
        wall = max(
            r["group_wall_seconds"]
            for r in runs
            if (r["task"], r["min_length"], r["max_length"]) == (task, low, high)
        )
        walls.append(wall)
        cells.append(f"{wall:.0f}")
        lines.append(f"| {task} | {low}-{high - 1} | " + " | ".join(cells) + " |")
    config = results.get("config", {})
    total = sum(walls)
    lines += [
        "",
        f"Budget {config.get('max_updates')} updates per run; lengths `low-high` are "
        "inclusive; success = under 1% errors on "
        f"{config.get('eval_sequences')} fresh sequences, 0 err = no error at all.",
        f"Total wall time of the groups: {total:.0f} s.",
    ]
    path.write_text("\n".join(lines) + "\n")


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [r for r in results["runs"] if r["max_length"] - r["min_length"] < 50]
    tasks = sorted({r["task"] for r in runs})
    if not tasks:
        return
    figure, axes = plt.subplots(
        1, max(1, len(tasks)), figsize=(4.5 * max(1, len(tasks)), 3.6), squeeze=False
    )
    for axis, task in zip(axes[0], tasks):
        for method, marker in (("sgd", "o"), ("sgd-c", "s"), ("sgd-cr", "^")):
            group = [r for r in runs if r["task"] == task and r["method"] == method]
            lengths = sorted({r["min_length"] for r in group})
            if not lengths:
                continue
            rate = [
                100 * np.mean([r["success"] for r in group if r["min_length"] == t])
                for t in lengths
            ]
            axis.plot(lengths, rate, marker=marker, label=method.upper())
        axis.set_title(f"{task}, {results['config']['max_updates']} updates")
        axis.set_xlabel("sequence length T (trained on [T, 1.1T))")
        axis.set_ylabel("rate of success (%)")
        axis.set_ylim(-5, 105)
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def generalise(args, output):
    """Evaluates saved models at fixed lengths; writes `generalisation.json`."""
    import keras

    import keras_rnncr

    counts = args.test_sequences * len(args.test_lengths)
    if len(args.test_sequences) > 1:
        counts = args.test_sequences
    path = output / "generalisation.json"
    report = json.loads(path.read_text()) if path.exists() else {}
    report.update(
        {
            "machine": machine(),
            "protocol": "keras_rnncr.tasks.evaluate_task with min_length = "
            "max_length = test length, chunks of 1000 sequences, seed 2000000 + "
            "length",
        }
    )
    for filename in args.generalisation_model:
        model = keras.saving.load_model(filename, compile=False)
        predictor = make_predictor(model)
        results = report.setdefault("models", {})
        results = results.setdefault(pathlib.Path(filename).name, {})
        for length, count in zip(args.test_lengths, counts, strict=True):
            start = time.perf_counter()
            result = keras_rnncr.tasks.evaluate_task(
                predictor,
                args.tasks[0],
                num_sequences=count,
                chunk_size=min(1000, count),
                min_length=length,
                max_length=length,
                seed=2_000_000 + length,
            )
            result["wall_seconds"] = time.perf_counter() - start
            results[str(length)] = result
            print(
                f"{pathlib.Path(filename).name} length {length}: "
                f"{result['num_errors']} errors / {count} "
                f"({result['error_percent']:.3f}%) in {result['wall_seconds']:.0f}s",
                flush=True,
            )
            path.write_text(json.dumps(report, indent=1))


def main(argv=None):
    args = parse_args(argv)
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    output = pathlib.Path(args.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    if args.generalisation_model:
        generalise(args, output)
        return
    json_path = output / f"{args.results_name}.json"
    results = load_results(json_path)
    if not args.report_only:
        config = {
            k: v
            for k, v in vars(args).items()
            if k not in ("output_dir", "save_dir", "report_only", "results_name")
        }
        config.pop("stop_after_seconds")
        old = results.get("config")
        keys = ("max_updates", "eval_every", "alpha", "learning_rate", "threshold")
        if old and any(old[k] != config[k] for k in keys):
            raise SystemExit(f"{json_path} was made with other settings: {old}")
        results["config"] = old or config
        results.setdefault("machine", machine())
        done = {run_key(r) for r in results["runs"]}
        start = time.perf_counter()
        for task, low, high, methods, seeds in length_ranges(args):
            elapsed = time.perf_counter() - start
            if args.stop_after_seconds and elapsed > args.stop_after_seconds:
                print(f"stopping after {elapsed:.0f}s; rerun to resume", flush=True)
                break
            jobs = [
                (method, seed)
                for seed in seeds
                for method in methods
                if (task, low, high, method, seed) not in done
            ]
            if not jobs:
                continue
            results["runs"] += train_group(task, low, high, jobs, args)
            json_path.write_text(json.dumps(results, indent=1))
    if results["runs"]:
        write_table(results, output / f"{args.results_name}.md")
        plot(results, output / f"{args.results_name}_fig7.png")


if __name__ == "__main__":
    main()
