"""Train the paper's sigmoid RNN to predict the next frame of piano rolls.

Polyphonic music modelling of Pascanu, Mikolov & Bengio, "On the difficulty of
training recurrent neural networks", ICML 2013, §4.2 and Table 1, on the piano
rolls of Boulanger-Lewandowski, Bengio & Vincent (ICML 2012). Each frame is an
88-key binary vector (the keys sounding at that eighth note, or quarter note
for chorales); the RNN reads frames 0..t and gives 88 independent Bernoulli
probabilities for frame t+1:

    key ^  frame: 0   1   2   3   4  ...
     G4 |        [x] [x] [ ] [x] [ ]    h_t = sigmoid(x_t W_in + h_{t-1} W_rec + b)
     E4 |        [x] [ ] [x] [x] [x]    p_{t+1} = sigmoid(h_t W_out + c)
     C3 |        [x] [x] [x] [ ] [x]    x_{t+1} ~ Bernoulli(p_{t+1}), key by key
        +-> time  |   |   |   |
                  v   v   v   v
                 p_1 p_2 p_3 p_4 ...    NLL per time step (nats), lower is better

Defaults are the paper's (arXiv v2 appendix): 300 sigmoid units (400 for
MuseData), N(0, 0.01) weights, plain SGD on 200-step subsequences with the
cost averaged over frames, learning rate 1.0 (0.5 for MuseData), clipping
threshold 8 (`--method sgd-c`, `sgd-cr`), and Omega with alpha_t = 1/(2t)
(0.1/t for MuseData; `sgd-cr`). What the paper leaves open was chosen by short
measured runs (issue 14; `keras_rnncr.music.BATCH_SIZE`): batches of 4
subsequences (an epoch of Nottingham is 292 updates), each subsequence starting
from the zero state, and the learning rate halved when the validation NLL has
not improved for 5 epochs, at most 6 times (the paper's "halved whenever the
epoch error increases", taken literally, drove the rate to ~1e-4 within a few
thousand updates while the model was still near the trivial baselines);
training stops at the first such plateau with no halving left (the run has
converged), or after `--epochs`. Test NLL is measured on whole test pieces
(every frame after the first, averaged over all frames), with the weights of
the epoch with the best validation NLL, and printed next to two trivial
baselines (`keras_rnncr.music.trivial_baselines`): each key with its training
frequency, and the previous frame mixed with those frequencies.

The default `--dataset offline_chorales` (Bach chorales bundled with music21,
no internet; `pip install -e ".[examples]"` in the clone installs music21) is
a **substitute for JSB Chorales**: its numbers are not comparable with
published ones. The paper's corpora are `--dataset
nottingham|muse_data|piano_midi` (and `jsb_chorales`), downloaded by the TFDS
builder `polyphonic_music`, or read from `--data-dir` holding the
`.mat`/`.pickle` files.

Writes to `--output`: `history.json` (per-epoch logs, train/valid/test NLL,
the trivial baselines, wall time, updates), `curves.png` (with the baselines),
a sampled `sample.png` (and `sample.mid` with pretty_midi), `model.keras` and
a SavedModel in `saved_model/`.

Expected: the paper's SGD+CR test NLL is 3.46 (Nottingham, arXiv v2; 3.36 in
the ICML table) and 6.99 (MuseData) after training to convergence. Measured on
a shared 2-core CPU with `--threads 1` (issue 14):

    python examples/music.py --dataset nottingham --data-dir DIR \
        --time-budget 540 --epochs 1000 --threads 1

(SGD-CR) ran 41 epochs, 11,972 updates, in 501 s at a constant learning rate
of 1.0 and reached train 3.19 / valid 3.46 / test 3.46 nats per time step,
against trivial baselines on test of 10.26 (key frequencies) and 5.72
(previous frame); the validation NLL was below the previous-frame baseline's
after 584 updates (epoch 2). One epoch of Nottingham took 6-37 s depending on
the machine's load. The default offline-chorales run was not re-measured
with these settings. `benchmarks/reproduce_music.py` trains SGD, SGD-C and
SGD-CR on JSB Chorales, Nottingham and MuseData to convergence, resumably.
"""

import argparse
import importlib.util
import json
import pathlib
import time

import _cli  # examples/_cli.py: the flags the examples share

# keras_rnncr.music.DATASETS, spelled out so that --help needs no TensorFlow (a
# test checks that the two agree), and the frame length of each corpus: eighth
# notes except for the chorales (quarter notes).
DATASETS = ("jsb_chorales", "nottingham", "muse_data", "piano_midi", "offline_chorales")
_SECONDS_PER_FRAME = {"jsb_chorales": 0.5, "offline_chorales": 0.5}
_Y_LABELS = {
    "frame_nll": "NLL per time step (nats)",
    "grad_norm": "pre-clip gradient norm",
    "rnn_omega": "Omega",
    "learning_rate": "learning rate",
}


def parse_args(argv=None):
    parser = _cli.parser(__doc__)
    parser.add_argument(
        "--dataset",
        default="offline_chorales",
        choices=DATASETS,
        help="corpus; offline_chorales is a substitute for JSB Chorales",
    )
    parser.add_argument(
        "--data-dir",
        type=_cli.existing_folder,
        help="folder with the .mat/.pickle files (TFDS manual_dir)",
    )
    parser.add_argument("--tfds-dir", help="where TFDS keeps prepared data")
    parser.add_argument(
        "--num-chorales",
        type=_cli.positive_int,
        help="offline_chorales only (default: all)",
    )
    parser.add_argument(
        "--units",
        type=_cli.positive_int,
        help="hidden units (default: 300; 400 for muse_data)",
    )
    parser.add_argument(
        "--sequence-length",
        type=_cli.positive_int,
        default=200,
        help="steps per subsequence",
    )
    parser.add_argument(
        "--batch-size",
        type=_cli.positive_int,
        default=4,
        help="subsequences per update",
    )
    parser.add_argument(
        "--lr-monitor",
        default="val_frame_nll",
        choices=["val_frame_nll", "val_loss", "frame_nll", "loss"],
        help="error whose plateau halves the learning rate",
    )
    parser.add_argument(
        "--lr-patience",
        type=_cli.positive_int,
        default=5,
        help="epochs without improvement before the learning rate is halved",
    )
    parser.add_argument(
        "--max-halvings",
        type=_cli.non_negative_int,
        default=6,
        help="most halvings of the rate",
    )
    parser.add_argument(
        "--epochs", type=_cli.positive_int, default=100, help="most epochs"
    )
    parser.add_argument(
        "--time-budget",
        type=_cli.positive_float,
        help="seconds of training; stops between epochs",
    )
    parser.add_argument(
        "--generate-frames",
        type=_cli.positive_int,
        default=128,
        help="frames of the sample",
    )
    _cli.add_common_flags(
        parser,
        learning_rate="1.0; 0.5 for muse_data",
        threshold=8.0,
        omega="0.5; 0.1 for muse_data",
        output="runs/music",
        omega_help="alpha at epoch 1, alpha/t at epoch t",
    )
    args = parser.parse_args(argv)
    _cli.refuse_unused(parser, argv, _unused(args))
    return args


def _unused(args):
    """`{dest: why}` of the flags the others leave unused (see `_cli`)."""
    unused = _cli.method_unused(args.method)
    if args.dataset == "offline_chorales":
        for flag in ("data_dir", "tfds_dir"):
            unused[flag] = (
                "applies to the TFDS datasets only (music21 holds the chorales); "
                "got --dataset offline_chorales"
            )
    else:
        unused["num_chorales"] = (
            f"applies to --dataset offline_chorales only; got --dataset {args.dataset}"
        )
    return unused


def main(argv=None):
    args = parse_args(argv)
    if args.dataset == "offline_chorales" and not importlib.util.find_spec("music21"):
        raise SystemExit(
            "--dataset offline_chorales reads the chorales bundled with music21, "
            'which is not installed: `pip install -e ".[examples]"` in the clone '
            "(or `pip install music21`)."
        )
    _cli.start_tensorflow(args.threads)
    import keras

    import keras_rnncr
    from keras_rnncr import music

    settings = dict(music.PAPER_SETTINGS[args.dataset])
    for name in settings:
        if getattr(args, name) is not None:
            settings[name] = getattr(args, name)
    unused = _unused(args)
    shown = {k: v for k, v in settings.items() if k not in unused}
    if args.dataset == "offline_chorales":
        print(
            "Data: Bach chorales from music21, a SUBSTITUTE for JSB Chorales. "
            "Parsing them takes about 15 s (1-2 minutes on the first run, while "
            "music21 fills its cache)...",
            flush=True,
        )
    else:
        print(f"Data: {args.dataset} (the first run prepares it with TFDS)...")
    loading = time.perf_counter()
    rolls = music.load_piano_rolls(
        args.dataset,
        data_dir=args.tfds_dir,
        manual_dir=args.data_dir,
        num_chorales=args.num_chorales,
    )
    empty = [split for split, pieces in rolls.items() if not pieces]
    if empty and args.num_chorales is not None:  # checked before training
        raise _cli.usage_error(
            f"music.py: error: argument --num-chorales: the first "
            f"{args.num_chorales} chorales leave the {' and '.join(empty)} "
            "split empty (a chorale goes to a split by a hash of its name, about "
            "1 in 10 to validation and 1 in 10 to test); give more"
        )
    chunks = music.split_into_subsequences(rolls["train"], args.sequence_length)
    train, steps = music.next_frame_epochs(chunks, args.batch_size, seed=args.seed)
    evaluation = {
        split: music.next_frame_dataset(rolls[split], args.batch_size)
        for split in music.data.SPLITS
    }
    print(
        f"{args.dataset}: "
        + ", ".join(f"{s} {len(r)} pieces" for s, r in rolls.items())
        + f"; {len(chunks)} training subsequences; read in "
        + f"{time.perf_counter() - loading:.0f} s; {shown}"
    )
    baselines = music.trivial_baselines(rolls)
    print(
        "Trivial baselines, NLL per time step (train / valid / test): key "
        f"frequencies {_splits(baselines['key_frequencies'])}; previous frame "
        f"(weight {baselines['mixing_weight']:.2f}) "
        f"{_splits(baselines['previous_frame'])}"
    )

    keras.utils.set_random_seed(args.seed)
    model = music.music_model(
        args.method,
        units=settings["units"],
        learning_rate=settings["learning_rate"],
        threshold=args.threshold,
        omega=settings["omega"],
        seed=args.seed,
    )
    best = keras.callbacks.EarlyStopping(
        "val_frame_nll", patience=args.epochs, restore_best_weights=True
    )
    callbacks = music.music_callbacks(
        args.method,
        settings["omega"],
        monitor=args.lr_monitor,
        patience=args.lr_patience,
        max_halvings=args.max_halvings,
        stop_when_exhausted=True,  # converged: as benchmarks/reproduce_music.py
    )
    callbacks.append(best)
    if args.time_budget:
        callbacks.append(keras_rnncr.callbacks.TimeBudget(args.time_budget))
    start = time.perf_counter()
    history = model.fit(
        train,
        steps_per_epoch=steps,
        validation_data=evaluation["validation"],
        epochs=args.epochs,
        callbacks=callbacks,
        shuffle=False,  # next_frame_dataset shuffles
        verbose=args.verbose,
    ).history
    seconds = time.perf_counter() - start
    epochs = len(history["loss"])
    history["updates"] = [steps * (i + 1) for i in range(epochs)]

    results = {
        split: float(model.evaluate(data, verbose=0, return_dict=True)["frame_nll"])
        for split, data in evaluation.items()
    }
    output = pathlib.Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    summary = {
        "dataset": args.dataset,
        "method": args.method,
        "settings": _cli.recorded(
            argparse.Namespace(**{**vars(args), **settings}), unused
        ),
        "epochs": epochs,
        "best_epoch": best.best_epoch + 1,
        "updates": int(keras.ops.convert_to_numpy(model.optimizer.iterations)),
        "wall_seconds": seconds,
        "epochs_per_second": epochs / seconds,
        "nll": results,
        "baselines": baselines,
        "history": {k: [float(v) for v in vals] for k, vals in history.items()},
    }
    (output / "history.json").write_text(json.dumps(summary, indent=1))
    figure = keras_rnncr.diagnostics.plot_history(
        history,
        keys=list(_Y_LABELS),
        x=history["updates"],
        x_label="updates",
        y_labels=_Y_LABELS,
        reference_lines={
            "frame_nll": (
                baselines["previous_frame"]["validation"],
                "previous frame (valid)",
            )
        },
    )
    axis = figure.axes[0]  # frame_nll
    axis.axhline(
        baselines["key_frequencies"]["validation"],
        color="gray",
        linestyle=":",
        label="key frequencies (valid)",
    )
    axis.legend(fontsize="small")
    figure.savefig(output / "curves.png", dpi=100)
    roll = music.sample_piano_roll(model, args.generate_frames, seed=args.seed)
    music.save_piano_roll_png(
        roll, output / "sample.png", title=f"{args.dataset}, {args.method}: sample"
    )
    try:
        music.save_midi(
            roll,
            output / "sample.mid",
            seconds_per_frame=_SECONDS_PER_FRAME.get(args.dataset, 0.25),
        )
    except ImportError:
        print("pretty_midi is not installed: no sample.mid.")
    model.save(output / "model.keras")
    if not args.no_export:
        model.export(output / "saved_model", verbose=False)
    print(
        f"{args.dataset} {args.method}: {epochs} epochs, {summary['updates']} "
        f"updates in {seconds:.0f} s; NLL per time step train "
        f"{results['train']:.3f}, valid {results['validation']:.3f}, test "
        f"{results['test']:.3f} (best epoch {summary['best_epoch']}); trivial "
        f"baselines on test: key frequencies "
        f"{baselines['key_frequencies']['test']:.3f}, previous frame "
        f"{baselines['previous_frame']['test']:.3f}; outputs in {output}/"
    )
    return summary


def _splits(values):
    return " / ".join(f"{values[s]:.2f}" for s in ("train", "validation", "test"))


if __name__ == "__main__":
    main()
