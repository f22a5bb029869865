"""Reproduce Table 1's Penn Treebank rows (SGD, SGD-C, SGD-CR) to convergence.

Trains the paper's character model (`keras_rnncr.text.char_model`: 500
sigmoid units without biases, 200-step segments with the state carried across
them, the paper's learning rates, threshold and alpha rescaled to a
mean-over-steps loss by `keras_rnncr.text.paper_settings`) on PTB next
character and 5th character ahead: SGD (seed 0) and SGD-C and SGD-CR (seeds 0
and 1). What the paper leaves open is `keras_rnncr.text`'s: 8 parallel
streams (`BATCH_SIZE`), and, to train until the validation error no longer
improves, the learning rate halved after `--patience` epochs without a
validation bits per character better than the best by `--min-improvement` of
it (0.3%, the RNNLM toolkit's rule; until 2026-12-06, any gain counted), the
run ending at the next plateau once
`--max-halvings` halvings are done (or after `--max-epochs`). The weights of
the best validation epoch are evaluated.

Every run checkpoints (weights, optimizer, learning-rate schedule, epoch,
history) at epoch ends, at most every `--checkpoint-every` seconds, in
`--work-dir`; with `--time-limit` the script checkpoints and exits when the
next epoch would end after the limit. Run the same command again to continue:
finished runs (in `char_lm_table1.json`) are skipped, the interrupted one
resumes at the epoch where it stopped. Writes `char_lm_table1.json`,
`char_lm_table1.md` (next to Table 1 and the unigram baseline, comparisons at
equal updates, the runs in progress) and `char_lm_table1.png` to `--results`.

    nice -n 10 python benchmarks/reproduce_char_lm.py \\
        --data-dir /work/shared/data/ptb --time-limit 36000
"""

import argparse
import json
import pathlib

import _common
import _resumable
import numpy as np

# Pascanu, Mikolov & Bengio, ICML 2013, Table 1: (train, test) bits per character.
PAPER = {
    ("sgd", 1): (1.46, 1.50),
    ("sgd-c", 1): (1.34, 1.42),
    ("sgd-cr", 1): (1.36, 1.41),
    ("sgd-c", 5): (3.76, 3.89),
    ("sgd-cr", 5): (3.70, 3.74),
}
RESULTS = "char_lm_table1"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    _resumable.add_arguments(
        parser, "folder with ptb.*.txt (TFDS manual_dir)", "runs/char_lm_table1"
    )
    parser.add_argument("--corpus", default="ptb", choices=["ptb", "offline"])
    parser.add_argument("--aheads", type=int, nargs="+", default=[1, 5], choices=[1, 5])
    parser.add_argument("--units", type=_common.positive_int, default=500)
    parser.add_argument(
        "--batch-size", type=_common.positive_int, help="default: text.BATCH_SIZE"
    )
    parser.add_argument("--segment-length", type=_common.positive_int, default=200)
    parser.add_argument("--max-epochs", type=_common.positive_int, default=50)
    parser.add_argument(
        "--min-improvement",
        type=float,
        default=None,
        help="fraction of the best validation error an epoch must gain to count "
        "as better (default: text.MIN_IMPROVEMENT_AHEAD, 0.003 next character, 0 "
        "five ahead); 0: any gain, the next-character schedule "
        "of the runs before 2026-12-06",
    )
    parser.add_argument("--train-eval-chars", type=int, default=400_000)
    parser.add_argument(
        "--samples",
        action="store_true",
        help="also sample text from the best finished next-character SGD-CR "
        "model, after the first characters of the test set",
    )
    parser.add_argument("--sample-chars", type=int, default=400)
    return parser.parse_args(argv)


def run_list(args):
    runs = []
    for ahead in args.aheads:
        for method in args.methods:
            runs += [(method, ahead, s) for s in _resumable.seeds_of(args, method)]
    return runs


def settings_of(args, method, ahead):
    from keras_rnncr import text

    settings = text.paper_settings(method, 1 if ahead == 1 else 5, args.segment_length)
    settings.update(
        units=args.units,
        batch_size=text.BATCH_SIZE if args.batch_size is None else args.batch_size,
        segment_length=args.segment_length,
        **_resumable.schedule_settings(args, text),
        min_improvement=text.MIN_IMPROVEMENT_AHEAD[1 if ahead == 1 else 5]
        if args.min_improvement is None
        else args.min_improvement,
        max_epochs=args.max_epochs,
    )
    return settings


def build_model(settings, vocabulary, method, ahead, seed):
    """The run's `char_model`, as every session of the run builds it."""
    from keras_rnncr import text

    return text.char_model(
        method,
        vocabulary.size,
        units=settings["units"],
        ahead=ahead,
        batch_size=settings["batch_size"],
        segment_length=settings["segment_length"],
        seed=seed,
    )


# A run's settings by epoch, in its checkpoint folder.
SETTINGS_FILE = _resumable.SETTINGS_FILE
# The settings that differ for epochs trained before that file was kept
# (2026-12-06): `--min-improvement` did not exist, any gain was a new best.
EARLIER_SETTINGS = {"min_improvement": 0.0}


def settings_history(directory, settings, initial_epoch):
    """`_resumable.settings_history`, with this script's earlier settings."""
    return _resumable.settings_history(
        directory, settings, initial_epoch, earlier=EARLIER_SETTINGS
    )


settings_changes = _resumable.settings_changes


def checkpointed_runs(args):
    """`(method, ahead, seed)` of every run with a checkpoint in `--work-dir`,
    whichever invocation trains it."""
    runs = []
    for directory in sorted(pathlib.Path(args.work_dir).glob("ahead*/*_seed*")):
        method, _, seed = directory.name.rpartition("_seed")
        if (directory / "state.json").is_file() and seed.isdigit():
            runs.append((method, int(directory.parent.name[len("ahead") :]), int(seed)))
    return runs


def run_directory(args, method, ahead, seed):
    """The run's checkpoint folder in `--work-dir`."""
    return pathlib.Path(args.work_dir) / f"ahead{ahead}" / f"{method}_seed{seed}"


def train_one(args, vocabulary, ids, method, ahead, seed, deadline):
    """Trains (or resumes) one run; returns its record, or None if out of time."""
    import keras

    from keras_rnncr import text

    settings = settings_of(args, method, ahead)
    keras.utils.clear_session()
    keras.utils.set_random_seed(seed)
    batch = settings["batch_size"]
    model = build_model(settings, vocabulary, method, ahead, seed)
    callbacks = text.char_callbacks(
        method,
        ahead,
        segment_length=settings["segment_length"],
        monitor="val_bits_per_character",
        patience=settings["patience"],
        max_halvings=settings["max_halvings"],
        min_improvement=settings["min_improvement"],
        stop_when_exhausted=True,
    )
    stream = dict(segment_length=settings["segment_length"], ahead=ahead)
    train = text.stream_dataset(ids["train"], batch, **stream)
    validation = text.stream_dataset(
        ids["validation"], batch, drop_remainder=False, **stream
    )
    directory = run_directory(args, method, ahead, seed)

    def make_data(initial_epoch):
        settings_history(directory, settings, initial_epoch)
        return dict(x=train, validation_data=validation)

    checkpoint, finished = _resumable.train_resumably(
        model,
        directory,
        make_data,
        settings["max_epochs"],
        callbacks,
        stateful=[callbacks[0]],
        monitor="val_bits_per_character",
        every_seconds=args.checkpoint_every,
        deadline=deadline,
        verbose=args.verbose,
    )
    if not finished:
        return None
    checkpoint.restore_best_weights(model)
    limits = {"train": args.train_eval_chars, "validation": None, "test": None}
    bits = {
        split: text.evaluate_bits_per_character(
            model, ids[split][:limit], batch, **stream
        )
        for split, limit in limits.items()
    }
    steps = int(train.cardinality())
    record = _resumable.run_record(
        checkpoint,
        settings,
        steps,
        ("bits_per_character", "val_bits_per_character"),
        model=model,
        threads=args.threads,
    )
    return {
        "method": method,
        "ahead": ahead,
        "seed": seed,
        "corpus": args.corpus,
        "train_eval_chars": args.train_eval_chars,
        "bits_per_character": bits,
        **record,
        "settings_by_epoch": _resumable.read_settings_history(directory),
    }


def corpus_ids(args):
    """`(corpus, vocabulary, ids)`: the splits' text, the vocabulary of the
    training text (with an unknown symbol if the other splits need one), and
    each split's ids."""
    from keras_rnncr import text

    corpus = text.load_char_corpus(
        args.corpus, data_dir=args.tfds_dir, manual_dir=args.data_dir
    )
    unseen = set(corpus["validation"] + corpus["test"]) - set(corpus["train"])
    vocabulary = text.CharVocabulary.from_text(
        corpus["train"], unknown="\ufffd" if unseen else None
    )
    ids = {split: vocabulary.encode(corpus[split]) for split in corpus}
    return corpus, vocabulary, ids


def main(argv=None):
    args = parse_args(argv)
    deadline, results_dir, path, results = _resumable.start(args, RESULTS)
    from keras_rnncr import text

    with _resumable.results_lock(path):
        corpus, vocabulary, ids = corpus_ids(args)
    if args.report_only and "unigram" in results:
        # A report only reads the records: it does not score them again (on
        # whatever corpus this invocation names).
        return report_only(args, results, results_dir, path, vocabulary, corpus)
    results["unigram"] = {
        str(ahead): {
            split: text.unigram_bits_per_character(
                ids["train"], ids[split], ahead, vocabulary.size
            )
            for split in ids
        }
        for ahead in (1, 5)
    }
    results["setup"]["vocabulary_size"] = vocabulary.size
    results["setup"]["characters"] = {s: int(len(v)) for s, v in ids.items()}
    if not args.report_only:
        results["command"] = _resumable.command_line("reproduce_char_lm.py", argv)
    stopped = trained = False
    for method, ahead, seed in [] if args.report_only else run_list(args):
        done = _done(results, method, ahead, seed)
        if done:
            _resumable.warn_if_settings_differ(
                done,
                settings_of(args, method, ahead),
                f"{method} ahead {ahead} seed {seed}",
            )
            continue
        if not _resumable.may_start(trained, deadline, margin=60.0):
            stopped = True
            break
        trained = True
        print(f"== {method} ahead {ahead} seed {seed}", flush=True)
        record = train_one(args, vocabulary, ids, method, ahead, seed, deadline)
        if record is None:
            stopped = True
            break
        results["runs"].append(record)
        _resumable.save_results(path, results)
        unigram = results["unigram"][str(ahead)]["test"]
        print(
            f"{method} ahead {ahead} seed {seed}: test "
            f"{record['bits_per_character']['test']:.3f} bits per character "
            f"(unigram {unigram:.3f})",
            flush=True,
        )
    write_outputs(args, results, results_dir, path, vocabulary, corpus, save=True)
    if stopped:
        _resumable.print_stopped()
    return results


def report_only(args, results, results_dir, path, vocabulary, corpus):
    """`--report-only`: the report and figure from the records as they are;
    the results JSON is written only for a new sample (`--samples`)."""
    save = bool(args.samples)
    write_outputs(args, results, results_dir, path, vocabulary, corpus, save=save)
    return results


def write_outputs(args, results, results_dir, path, vocabulary, corpus, save):
    """The sample (`--samples`), the results JSON (if `save`), the figure and
    the report."""
    if args.samples:
        write_sample(results, args, vocabulary, corpus["test"])
    if save:
        _resumable.save_results(path, results)
    if results["runs"]:
        plot(results, results_dir / f"{RESULTS}.png")
    (results_dir / f"{RESULTS}.md").write_text(report(results, args))


PROMPT_CHARS = 100


def write_sample(results, args, vocabulary, test_text):
    """Text sampled from the best next-character SGD-CR model, into `results`.

    The model is rebuilt with the run's settings and given the variables of its
    best validation epoch; `keras_rnncr.text.sample_text` (temperature 1, seed 0)
    continues the first `PROMPT_CHARS` characters of the test set.
    """
    import keras

    from keras_rnncr import text
    from keras_rnncr.callbacks import TrainingCheckpoint

    runs = [r for r in results["runs"] if r["method"] == "sgd-cr" and r["ahead"] == 1]
    if not runs:
        return
    # Chosen on validation, as every other choice here (never on test).
    run = min(runs, key=lambda r: r["bits_per_character"]["validation"])
    settings = settings_of(args, run["method"], 1)
    keras.utils.clear_session()
    model = build_model(settings, vocabulary, run["method"], 1, run["seed"])
    directory = run_directory(args, run["method"], 1, run["seed"])
    checkpoint = TrainingCheckpoint(
        directory, monitor="val_bits_per_character", mode="min"
    )
    checkpoint.restore_best_weights(model)
    prompt = test_text[:PROMPT_CHARS]
    results["sample"] = {
        "method": run["method"],
        "seed": run["seed"],
        "test_bits_per_character": run["bits_per_character"]["test"],
        "prompt": prompt,
        "text": text.sample_text(
            model, vocabulary, prompt=prompt, length=args.sample_chars, seed=0
        ),
    }
    print(f"sample: {results['sample']['text'][:80]!r}...", flush=True)


def _done(results, method, ahead, seed):
    """The finished record of the run, or None."""
    return next(
        (
            r
            for r in results["runs"]
            if (r["method"], r["ahead"], r["seed"]) == (method, ahead, seed)
        ),
        None,
    )


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 3.5), squeeze=False)
    for axis, ahead in zip(axes[0], (1, 5)):
        for r in results["runs"]:
            if r["ahead"] != ahead:
                continue
            curve = r["curves"]["val_bits_per_character"]
            updates = r["updates_per_epoch"] * np.arange(1, len(curve) + 1)
            axis.plot(updates, curve, marker="o", label=f"{r['method']} s{r['seed']}")
        axis.axhline(
            results["unigram"][str(ahead)]["validation"],
            color="gray",
            linestyle=":",
            label="unigram",
        )
        axis.set_title("next character" if ahead == 1 else f"{ahead}th character ahead")
        axis.set_xlabel("updates")
        axis.set_ylabel("validation bits per character")
        axis.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def report(results, args):
    setup = results["setup"]
    # The records' own count where they keep it (runs before 2026-12-07 did
    # not; they were scored with the default).
    train_chars = {
        r.get("train_eval_chars", args.train_eval_chars) for r in results["runs"]
    }
    train_chars = train_chars.pop() if len(train_chars) == 1 else args.train_eval_chars
    lines = [
        "# Penn Treebank characters: SGD, SGD-C, SGD-CR next to Table 1",
        "",
        "Generated by `benchmarks/reproduce_char_lm.py` from "
        "`char_lm_table1.json`. Bits per character of the weights of the best "
        "validation epoch, every character of the split scored once with the "
        "state carried (`keras_rnncr.text.evaluate_bits_per_character`; train: "
        f"the first {train_chars:,} characters). Each run trains until "
        "the validation error stops improving (halving the learning rate after "
        "each plateau, at most `max_halvings` times). Paper values: Pascanu, "
        "Mikolov & Bengio, ICML 2013, Table 1. Unigram: the training "
        "frequencies of the characters, no context "
        "(`keras_rnncr.text.unigram_bits_per_character`).",
        "",
        f"Machine: {setup['machine']}. Vocabulary {setup['vocabulary_size']} symbols.",
        "",
        "| task | method | seed | epochs | updates | train s | halvings | train "
        "| valid | test | best valid at E epochs | paper train | paper test |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    runs = results["runs"]
    notes = []  # settings changed while a run was resumed
    common = {}
    for r in runs:
        common[r["ahead"]] = min(common.get(r["ahead"], 10**9), r["epochs"])
    for r in runs:
        paper = PAPER.get((r["method"], r["ahead"]), (None, None))
        bits = r["bits_per_character"]
        first = common[r["ahead"]]
        early = min(r["curves"]["val_bits_per_character"][:first])
        cells = [
            "next char" if r["ahead"] == 1 else f"{r['ahead']} ahead",
            r["method"],
            r["seed"],
            r["epochs"],
            r["updates"],
            f"{r['train_seconds']:.0f}",
            r["halvings"],
            f"{bits['train']:.3f}",
            f"{bits['validation']:.3f}",
            f"{bits['test']:.3f}",
            f"{early:.3f} (E={first})",
            "N/A" if paper[0] is None else f"{paper[0]:.2f}",
            "N/A" if paper[1] is None else f"{paper[1]:.2f}",
        ]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    for r in runs:
        for change in settings_changes(r.get("settings_by_epoch", [])):
            notes.append(
                f"- {r['method']} ahead {r['ahead']} seed {r['seed']}, {change}."
            )
    for ahead, unigram in sorted(results["unigram"].items()):
        task = "next char" if ahead == "1" else f"{ahead} ahead"
        lines.append(
            f"| {task} | unigram | | | | | | {unigram['train']:.3f} | "
            f"{unigram['validation']:.3f} | {unigram['test']:.3f} | | | |"
        )
    if notes:
        lines += ["", "Settings changed on resuming:", "", *notes]
    lines += ["", "## Method ordering (mean test bits per character over seeds)", ""]
    for ahead in (1, 5):
        means = {}
        for r in runs:
            if r["ahead"] == ahead:
                means.setdefault(r["method"], []).append(
                    r["bits_per_character"]["test"]
                )
        if not means:
            continue
        order = sorted(means, key=lambda m: np.mean(means[m]))
        task = "Next character" if ahead == 1 else f"{ahead} ahead"
        text = " < ".join(f"{m} {np.mean(means[m]):.3f}" for m in order)
        lines.append(f"- {task}: {text}.")
    pending = []
    ours = run_list(args)
    for method, ahead, seed in ours + [
        r for r in checkpointed_runs(args) if r not in ours
    ]:
        if _done(results, method, ahead, seed):
            continue
        directory = run_directory(args, method, ahead, seed)
        progress = _resumable.in_progress(directory)
        name = f"- {method} ahead {ahead} seed {seed}"
        if (method, ahead, seed) not in ours:
            name += (
                f" (another invocation's: continue it with `--methods {method} "
                f"--seeds {seed} --aheads {ahead}` in the command below)"
            )
        if progress is None:
            pending.append(f"{name}: not started.")
        else:
            epochs, history = progress
            best = min(history["val_bits_per_character"])
            pending.append(
                f"{name}: {epochs} epochs done, best validation {best:.3f} bits "
                f"per character so far (checkpoint in `{directory}`)."
            )
            path = directory / SETTINGS_FILE
            if path.is_file():
                for change in settings_changes(json.loads(path.read_text())):
                    pending.append(f"  Settings {change}.")
    if pending:
        command = results.get("command", "python benchmarks/reproduce_char_lm.py")
        lines += [
            "",
            "## Runs not finished",
            "",
            *pending,
            "",
            f"Continue them with the same command: `{command}`.",
        ]
    if runs:
        lines.append(f"\n![validation curves]({RESULTS}.png)")
    sample = results.get("sample")
    if sample:
        lines += [
            "",
            "## Sampled text",
            "",
            f"From the best next-character SGD-CR model (seed {sample['seed']}, "
            f"test {sample['test_bits_per_character']:.3f} bits per character), "
            "variables of its best validation epoch, temperature 1, seed 0, "
            f"after the first {len(sample['prompt'])} characters of the test set "
            "(written with `--samples`):",
            "",
            "```text",
            sample["prompt"] + "|" + sample["text"],
            "```",
            "",
            "(`|` marks where the prompt ends.)",
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
