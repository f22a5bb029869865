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
cost averaged over frames, learning rate 1.0 (0.5 for MuseData) halved
whenever the epoch's error rises, clipping threshold 8 (`--method sgd-c`,
`sgd-cr`), and Omega with alpha_t = 1/(2t) (0.1/t for MuseData; `sgd-cr`).
Batch size and number of epochs are not reported; here 16 and `--epochs` /
`--time-budget`. Test NLL is measured on whole test pieces (every frame
after the first, averaged over all frames), with the weights of the epoch
with the best validation NLL.

The default `--dataset offline_chorales` (Bach chorales bundled with music21,
no internet; `pip install -e ".[examples]"` in the clone installs music21) is
a **substitute for JSB Chorales**: its numbers are not comparable with
published ones. The paper's corpora are `--dataset
nottingham|muse_data|piano_midi` (and `jsb_chorales`), downloaded by the TFDS
builder `polyphonic_music`, or read from `--data-dir` holding the
`.mat`/`.pickle` files.

Writes to `--output`: `history.json` (per-epoch logs, train/valid/test NLL,
wall time, updates), `curves.png`, a sampled `sample.png` (and `sample.mid`
with pretty_midi), `model.keras` and a SavedModel in `saved_model/`.

Expected: the paper's SGD+CR test NLL is 3.46 (Nottingham) and 6.99
(MuseData) after training to convergence. Measured on a shared 2-core CPU with
`--threads 1`: the default run (offline chorales, SGD-CR, 100 epochs of 18
updates) took 77 s in all (53 s of training, music21 cache warm) and reached
valid 9.95 / test 9.89 nats; one epoch of Nottingham took 7-15 s depending on
the machine's load. benchmarks/results/music.md has SGD, SGD-C and SGD-CR on
JSB Chorales, Nottingham and MuseData next to Table 1.
"""

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
        "--data-dir", help="folder with the .mat/.pickle files (TFDS manual_dir)"
    )
    parser.add_argument("--tfds-dir", help="where TFDS keeps prepared data")
    parser.add_argument(
        "--num-chorales", type=int, help="offline_chorales only (default: all)"
    )
    parser.add_argument(
        "--units", type=int, help="hidden units (default: 300; 400 for muse_data)"
    )
    parser.add_argument(
        "--sequence-length", type=int, default=200, help="steps per subsequence"
    )
    parser.add_argument("--batch-size", type=int, default=16, help="subsequences")
    parser.add_argument(
        "--lr-monitor",
        default="loss",
        choices=["loss", "val_loss"],
        help="error whose rise halves the learning rate",
    )
    parser.add_argument("--epochs", type=int, default=100, help="most epochs")
    parser.add_argument(
        "--time-budget", type=float, help="seconds of training; stops between epochs"
    )
    parser.add_argument(
        "--generate-frames", type=int, default=128, help="frames of the sample"
    )
    _cli.add_common_flags(
        parser,
        learning_rate="1.0; 0.5 for muse_data",
        threshold=8.0,
        omega="0.5; 0.1 for muse_data",
        output="runs/music",
        omega_help="alpha at epoch 1, alpha/t at epoch t",
    )
    return parser.parse_args(argv)


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
    chunks = music.split_into_subsequences(rolls["train"], args.sequence_length)
    train = music.next_frame_dataset(
        chunks, args.batch_size, shuffle=True, seed=args.seed
    )
    evaluation = {
        split: music.next_frame_dataset(rolls[split], args.batch_size)
        for split in music.data.SPLITS
    }
    print(
        f"{args.dataset}: "
        + ", ".join(f"{s} {len(r)} pieces" for s, r in rolls.items())
        + f"; {len(chunks)} training subsequences; read in "
        + f"{time.perf_counter() - loading:.0f} s; {settings}"
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
    callbacks = music.music_callbacks(args.method, settings["omega"], args.lr_monitor)
    callbacks.append(best)
    if args.time_budget:
        callbacks.append(keras_rnncr.callbacks.TimeBudget(args.time_budget))
    start = time.perf_counter()
    history = model.fit(
        train,
        validation_data=evaluation["validation"],
        epochs=args.epochs,
        callbacks=callbacks,
        shuffle=False,  # next_frame_dataset shuffles
        verbose=args.verbose,
    ).history
    seconds = time.perf_counter() - start
    epochs = len(history["loss"])
    steps = -(-len(chunks) // args.batch_size)
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
        "settings": {**vars(args), **settings},
        "epochs": epochs,
        "best_epoch": best.best_epoch + 1,
        "updates": int(keras.ops.convert_to_numpy(model.optimizer.iterations)),
        "wall_seconds": seconds,
        "epochs_per_second": epochs / seconds,
        "nll": results,
        "history": {k: [float(v) for v in vals] for k, vals in history.items()},
    }
    (output / "history.json").write_text(json.dumps(summary, indent=1))
    keras_rnncr.diagnostics.plot_history(
        history,
        output / "curves.png",
        keys=list(_Y_LABELS),
        x=history["updates"],
        x_label="updates",
        y_labels=_Y_LABELS,
    )
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
        f"{results['test']:.3f} (best epoch {summary['best_epoch']}); "
        f"outputs in {output}/"
    )
    return summary


if __name__ == "__main__":
    main()
