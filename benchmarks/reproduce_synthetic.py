"""Figure 7 of Pascanu et al. (ICML 2013), and the other synthetic tasks, at length.

A sweep trains, for each group (task, length range, initialisation scheme), every
(method, seed) run of the group together with `keras_rnncr.tasks.MultiRunTrainer`
(one XLA step for all runs; each run equals `task_model` trained by `fit`). The
three methods of one seed see the very same batches and initial weights.

Protocol (paper §4.1 and its released code):
- every `--eval-every` updates each running model is screened on
  `--screen-sequences` fresh sequences; under 1% errors, the paper's
  10,000-sequence evaluation (`--eval-sequences`) decides;
- a run *succeeds* at its first evaluation under 1% errors (the paper's rule) and
  keeps training until the released code's stopping rule, no error at all on the
  10,000 sequences (`solved_zero_errors`), or until its method's budget
  (`--budget`, e.g. `sgd-cr=1000000 sgd=100000 sgd-c=100000`);
- a run that ends on its budget gets the full evaluation then;
- every evaluation shares its sequences out equally between every length of the
  group's range (`--eval-lengths every`, `evaluate_task(lengths="every")`). The
  released code draws one length per 1,000-sequence chunk (`--eval-lengths
  random`), i.e. 10 lengths per evaluation, and models that fail at a few lengths
  of their range passed its zero-error rule by luck: this sweep used that rule
  until 2026-12-06, and 7 of its 19 models stopped that way had 1-184 errors in
  10,000 over every length. A group that resumes scores each such run again
  (`Group.recheck`); one without zero errors trains on.

Lengths: a sweep length `T` trains and evaluates on lengths drawn uniformly from
`[T, T + T // 10)` (`--length-spread 0.1`, Hochreiter & Schmidhuber's convention),
`--ranges 50:200` adds groups on the paper's range (the generalisation models).

Long runs. Every `--checkpoint-every` seconds, and before exiting, each group
writes its trainer's checkpoint (`<group>.ckpt.npz/.json`, the weights and the
update counter, from which the data stream follows) and its record
(`<group>.json`: every run's history of error, loss, gradient norm, clip rate
and Omega against updates, its evaluations and status). The checkpoint's
`.npz` holds a copy of the record too, replaced with the weights in one step:
a resumed group reads the record from there (so the two always match; an edit
of the record file alone does not reach it), or from the record file for
checkpoints written before 2026-12-07. Running the same
command again resumes every group where it stopped, bit for bit; `--time-limit`
ends the process cleanly after that many seconds (also on a GPU machine). Runs
that stop on the zero-error rule are saved as `.keras` models in `--models-dir`
with `manifest.json`.

Figure 7, one process per core (the two commands share the machine):

    nice python benchmarks/reproduce_synthetic.py --threads 1 --lengths 50 100 150 \\
        --schemes smart_tanh --time-limit 10000
    nice python benchmarks/reproduce_synthetic.py --threads 1 --lengths 200 \\
        --schemes smart_tanh basic_tanh sigmoid --time-limit 10000

The other five tasks at T=200, each with its settings (`task_settings`; SGD-C
on the same seeds for a fifth of SGD-CR's budget), e.g.:

    nice python benchmarks/reproduce_synthetic.py --threads 1 --task addition \
        --lengths 200 --methods sgd-c sgd-cr --seeds 0 1 2 \
        --budget sgd-c=200000 sgd-cr=1000000 --time-limit 10000

(`--task temporal_order_3bit`, `multiplication`, `permutation`, `memorization`
alike; memorization trains one length, 200, plus its 2 x 10 pattern steps.)

`--report` rewrites the tables and plots from the records without training;
`--generalise` scores the manifest's generalisation models at `--test-lengths`.
"""

import argparse
import json
import pathlib
import subprocess
import time

import numpy as np
from _common import machine

DEFAULT_BUDGET = {"sgd": 100_000, "sgd-c": 100_000, "sgd-cr": 1_000_000}


def task_settings(task):
    """The settings `task` trains with where the command line leaves them
    unset: the paper's (`keras_rnncr.tasks.TASKS[task].paper_settings`:
    Figure 7's for temporal order, the arXiv v2 appendix's per-task values for
    the others). Memorization trains a model per length (`length_spread` 0:
    one length per group), as in the paper."""
    from keras_rnncr import tasks

    paper = tasks.get_task(task).paper_settings
    return {
        "units": paper.units,
        "learning_rate": paper.learning_rate,
        "threshold": paper.threshold,
        "omega": paper.omega,
        "schemes": [paper.scheme],
        "length_spread": 0.0 if task == "memorization" else 0.1,
    }


SUCCESS_PERCENT = 1.0


def _range_flag(text):
    """argparse type of `--ranges`: `MIN:MAX`, positive integers, MIN < MAX."""
    parts = text.split(":")
    if not (len(parts) == 2 and all(p.isdigit() for p in parts)) or not (
        0 < int(parts[0]) < int(parts[1])
    ):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not MIN:MAX with positive integers MIN < MAX (e.g. 50:200)"
        )
    return text


def _budget_flag(text):
    """argparse type of `--budget`: `METHOD=UPDATES`."""
    method, _, updates = text.partition("=")
    if method not in DEFAULT_BUDGET or not updates.isdigit() or int(updates) < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not METHOD=UPDATES with METHOD one of "
            f"{sorted(DEFAULT_BUDGET)} and UPDATES a positive integer"
        )
    return text


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--task", default="temporal_order", help="a name of keras_rnncr.tasks.TASKS"
    )
    parser.add_argument("--lengths", nargs="*", type=int, default=[50, 100, 150, 200])
    parser.add_argument(
        "--length-spread", type=float, default=None, help="default: the task's"
    )
    parser.add_argument(
        "--ranges",
        nargs="*",
        type=_range_flag,
        default=[],
        help="extra ranges MIN:MAX (exclusive)",
    )
    parser.add_argument(
        "--schemes", nargs="+", default=None, help="default: the task's"
    )
    parser.add_argument("--methods", nargs="+", default=["sgd", "sgd-c", "sgd-cr"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument(
        "--budget",
        nargs="+",
        type=_budget_flag,
        default=[f"{k}={v}" for k, v in DEFAULT_BUDGET.items()],
        help="updates per run for each method, METHOD=UPDATES",
    )
    task_default = {"help": "default: the task's (task_settings)"}
    parser.add_argument("--units", type=int, default=None, **task_default)
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--learning-rate", type=float, default=None, **task_default)
    parser.add_argument("--threshold", type=float, default=None, **task_default)
    parser.add_argument(
        "--omega", type=float, default=None, help="alpha of SGD-CR; default: the task's"
    )
    parser.add_argument("--eval-every", type=int, default=1000)
    parser.add_argument("--screen-sequences", type=int, default=1000)
    parser.add_argument("--eval-sequences", type=int, default=10000)
    parser.add_argument(
        "--eval-lengths",
        choices=("every", "random"),
        default="every",
        help="lengths of the evaluations' sequences: every length of the range "
        "equally, or one random length per 1,000-sequence chunk (the released "
        "code's rule)",
    )
    parser.add_argument("--threads", type=int, default=0, help="0: TF's default")
    parser.add_argument("--checkpoint-every", type=float, default=300.0)
    parser.add_argument("--time-limit", type=float, default=None, help="seconds")
    parser.add_argument(
        "--group-suffix",
        default="",
        help="appended to the groups' names: a second group on the same range and "
        "initialisation (say more seeds), trained and recorded apart",
    )
    parser.add_argument("--output-dir", default="benchmarks/results/synthetic")
    parser.add_argument("--models-dir", default="benchmarks/results/models")
    parser.add_argument("--report", action="store_true", help="tables/plots only")
    parser.add_argument("--generalise", action="store_true")
    parser.add_argument(
        "--test-lengths", nargs="+", type=int, default=[500, 1000, 2000, 3000, 5000]
    )
    parser.add_argument("--test-sequences", type=int, default=10000)
    args = parser.parse_args(argv)
    from keras_rnncr import tasks  # after --help, which needs no TensorFlow

    if args.task not in tasks.TASKS:
        parser.error(
            f"argument --task: invalid choice: {args.task!r} (choose from "
            f"{', '.join(sorted(tasks.TASKS))})"
        )
    from keras_rnncr.tasks.multi_run import LENGTH_SEED

    if LENGTH_SEED in args.seeds:
        parser.error(
            f"argument --seeds: {LENGTH_SEED} is the seed of the length draws "
            "(keras_rnncr.tasks.multi_run.LENGTH_SEED), so a run with it would "
            "draw its batches from the same stream; choose another seed"
        )
    for name, value in task_settings(args.task).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def commit():
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def groups_of(args):
    """(name, min_length, max_length, scheme) of every group to train."""
    groups = []
    ranges = [tuple(int(v) for v in text.split(":")) for text in args.ranges]
    for length in args.lengths:
        ranges.append((length, length + max(1, int(args.length_spread * length))))
    for low, high in ranges:
        for scheme in args.schemes:
            name = f"{args.task}_{low}-{high}_{scheme}{args.group_suffix}"
            groups.append((name, low, high, scheme))
    return groups


# A group's settings: the runs' own (restored from the checkpoint on resuming)
# and the evaluation's (each invocation's own).
TRAINER_SETTINGS = ("units", "batch_size", "learning_rate", "threshold", "omega")
EVALUATION_SETTINGS = (
    "eval_every",
    "screen_sequences",
    "eval_sequences",
    "eval_lengths",
)


class Group:
    """One trainer and its record; resumes from its checkpoint if there is one."""

    def __init__(self, name, low, high, scheme, args):
        import keras_rnncr

        self.name, self.args = name, args
        self.directory = pathlib.Path(args.output_dir)
        self.checkpoint = self.directory / "checkpoints" / name
        self.record_path = self.directory / f"{name}.json"
        budgets = dict(item.split("=") for item in args.budget)
        runs = [
            keras_rnncr.tasks.RunSpec(
                method,
                seed=seed,
                scheme=scheme,
                learning_rate=args.learning_rate,
                threshold=args.threshold,
                omega=args.omega,
            )
            for seed in args.seeds
            for method in args.methods
        ]
        trainers = keras_rnncr.tasks.MultiRunTrainer
        if trainers.checkpoint_exists(self.checkpoint):
            self.trainer = trainers.restore(self.checkpoint)
            # The record saved with the weights (the record file may be a
            # save behind, if the process ended between the two writes);
            # checkpoints from before that: the record file.
            self.record = trainers.checkpoint_metadata(self.checkpoint) or json.loads(
                self.record_path.read_text()
            )
            held = sorted((r["method"], r["seed"]) for r in self.record["runs"])
            asked = sorted((r.method, r.seed) for r in runs)
            if held != asked:
                raise SystemExit(
                    f"{name}: its checkpoint holds the runs {held}, not the "
                    f"{asked} of --methods and --seeds; run those with their "
                    "methods and seeds, or start a new group with --group-suffix"
                )
            print(f"{name}: resumed at update {self.trainer.updates}", flush=True)
            self.say_changed_settings(args, budgets)
            if args.eval_lengths == "every":
                self.recheck()
        else:
            self.trainer = keras_rnncr.tasks.MultiRunTrainer(
                args.task,
                runs,
                min_length=low,
                max_length=high,
                units=args.units,
                batch_size=args.batch_size,
            )
            self.record = {
                "group": name,
                "task": args.task,
                "min_length": low,
                "max_length": high,
                "scheme": scheme,
                "settings": {
                    k: getattr(args, k) for k in TRAINER_SETTINGS + EVALUATION_SETTINGS
                },
                "sessions": [],
                "runs": [
                    {
                        "method": run.method,
                        "seed": run.seed,
                        "budget": int(budgets[run.method]),
                        "status": "running",
                        "updates": 0,
                        "first_success": None,
                        "final": None,
                        "history": [],
                        "evaluations": [],
                    }
                    for run in runs
                ],
            }
        self.record["sessions"].append(
            {
                "start_update": self.trainer.updates,
                "machine": machine(),
                "commit": commit(),
                "threads": args.threads,
                "settings": {k: getattr(args, k) for k in EVALUATION_SETTINGS},
                "wall_seconds": 0.0,
                "cpu_seconds": 0.0,
            }
        )

    def say_changed_settings(self, args, budgets):
        """Says which settings of this invocation differ from the group's.

        The runs' own (units, batch size, learning rate, threshold, alpha) and
        budgets come from the checkpoint and the record: other values are not
        applied. The evaluation settings are this invocation's: each session
        keeps them (`sessions[i]["settings"]`).
        """
        kept = self.record["settings"]
        for keys, effect in (
            (TRAINER_SETTINGS, "not applied: the runs keep the group's"),
            (EVALUATION_SETTINGS, "applied from this session on"),
        ):
            moved = [
                f"{k} {kept.get(k)!r} -> {getattr(args, k)!r}"
                for k in keys
                if kept.get(k) != getattr(args, k)
            ]
            if moved:
                print(f"{self.name}: {', '.join(moved)} ({effect}).", flush=True)
        asked = {method: int(budget) for method, budget in budgets.items()}
        budgets_moved = [
            f"{r['method']} seed {r['seed']} {r['budget']} -> {asked[r['method']]}"
            for r in self.record["runs"]
            if r["method"] in asked and r["budget"] != asked[r["method"]]
        ]
        if budgets_moved:
            print(
                f"{self.name}: budgets {', '.join(budgets_moved)} (not applied: "
                "the runs keep the group's).",
                flush=True,
            )

    def recheck(self):
        """Scores again, on every length of the range, each ended run whose
        success was judged with one random length per chunk (the released
        code's rule, used by this sweep until 2026-12-06).

        The run keeps its success only if it holds on the new evaluation
        (`recheck`; the former first success is kept as
        `first_success_random_lengths`). A solved run without zero errors
        now trains on (its model leaves the manifest) until the stopping rule
        holds on every length, or its budget.
        """
        ended = [
            i
            for i, run in enumerate(self.record["runs"])
            if run["status"] != "running"
            and run["final"]
            and run["final"]["success"]
            and run["final"].get("lengths", "random") == "random"
        ]
        for run in self.record["runs"]:
            if run["status"] == "running" and run["first_success"]:
                if run["first_success"].get("lengths", "random") == "random":
                    run["first_success_random_lengths"] = run["first_success"]
                    run["first_success"] = None
        import keras_rnncr

        reopened = []
        for i in ended:
            run = self.record["runs"][i]
            result = keras_rnncr.tasks.evaluate_task(
                self.trainer.to_model(i),
                self.record["task"],
                num_sequences=self.args.eval_sequences,
                min_length=self.record["min_length"],
                max_length=self.record["max_length"],
                seed=4_000_000 + i,
                lengths="every",
                **self.trainer.task_options,
            )
            check = summarise(result, run["updates"], "every")
            run["recheck"] = check
            run["first_success_random_lengths"] = run["first_success"]
            run["first_success"] = check if check["success"] else None
            print(
                f"{self.name}: {run['method']}/s{run['seed']} at {run['updates']} "
                f"updates, every length: {check['num_errors']} errors of "
                f"{check['num_sequences']}",
                flush=True,
            )
            run["final"] = check
            if check["solved_zero_errors"] or run["updates"] >= run["budget"]:
                run["status"] = "solved" if check["solved_zero_errors"] else "budget"
                continue
            run["status"] = "running"
            run["final"] = None
            reopened.append(i)
            self.drop_model(i)
        if reopened:
            self.trainer.reactivate(reopened)

    def drop_model(self, index):
        """Removes run `index`'s saved model and its manifest entry."""
        path = self.model_path(index)
        path.unlink(missing_ok=True)
        self.set_manifest_entry(path.name, None)

    def model_path(self, index):
        """Where run `index`'s model is saved (in `--models-dir`)."""
        run = self.record["runs"][index]
        filename = f"{self.name}_{run['method']}_s{run['seed']}.keras"
        return pathlib.Path(self.args.models_dir) / filename

    def set_manifest_entry(self, filename, entry):
        """Replaces the manifest's entry for `filename` by `entry` (None: none)."""
        manifest_path = pathlib.Path(self.args.models_dir) / "manifest.json"
        if not manifest_path.exists() and entry is None:
            return
        manifest = (
            json.loads(manifest_path.read_text()) if manifest_path.exists() else []
        )
        manifest = [m for m in manifest if m["file"] != filename]
        if entry is not None:
            manifest.append(entry)
        manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")

    @property
    def active(self):
        return bool(self.trainer.active.any())

    def advance(self):
        """Trains one evaluation period and applies the protocol to each run."""
        args, trainer = self.args, self.trainer
        start, cpu = time.perf_counter(), time.process_time()
        stats = trainer.train(args.eval_every)
        screen = trainer.evaluate(
            args.screen_sequences,
            chunk_size=min(1000, args.screen_sequences),
            seed=10_000 + trainer.updates // args.eval_every,
            lengths=args.eval_lengths,
        )
        candidates = [i for i, r in screen.items() if r["error_percent"] < 1.0]
        full = {}
        if candidates:
            full = trainer.evaluate(
                args.eval_sequences,
                seed=1_000_000 + trainer.updates // args.eval_every,
                runs=candidates,
                lengths=args.eval_lengths,
            )
        done = []
        for i, result in screen.items():
            run = self.record["runs"][i]
            run["updates"] = int(trainer.run_updates[i])
            run["history"].append(
                [run["updates"], result["error_percent"]]
                + [float(stats[name][i]) for name in STAT_COLUMNS]
            )
            if i in full:
                summary = summarise(full[i], run["updates"], args.eval_lengths)
                run["evaluations"].append(summary)
                if summary["success"] and run["first_success"] is None:
                    run["first_success"] = summary
                if summary["solved_zero_errors"]:
                    run["status"], run["final"] = "solved", summary
                    done.append(i)
                    continue
            if run["updates"] >= run["budget"]:
                done.append(i)
        ended = [i for i in done if self.record["runs"][i]["status"] == "running"]
        if ended:
            finals = trainer.evaluate(
                args.eval_sequences,
                seed=2_000_000 + trainer.updates,
                runs=ended,
                lengths=args.eval_lengths,
            )
            for i in ended:
                run = self.record["runs"][i]
                run["status"] = "budget"
                run["final"] = summarise(finals[i], run["updates"], args.eval_lengths)
                if run["final"]["success"] and run["first_success"] is None:
                    run["first_success"] = run["final"]
        for i in done:
            self.save_model(i)
        if done:
            trainer.deactivate(done)
        session = self.record["sessions"][-1]
        session["wall_seconds"] += time.perf_counter() - start
        session["cpu_seconds"] += time.process_time() - cpu
        session["end_update"] = trainer.updates
        session["stacked_runs"] = int(trainer.active.sum())
        if done:
            # The saved models and the manifest now name these runs as ended:
            # the record and checkpoint say so too, at once (an XLA compilation
            # for the smaller stack once failed in the next step and ended the
            # process, leaving the last checkpoint with the runs still running).
            self.save()
        running = [
            f"{r['method']}/s{r['seed']}={r['history'][-1][1]:.1f}%"
            for r in self.record["runs"]
            if r["status"] == "running"
        ]
        print(f"{self.name} update {trainer.updates}: " + " ".join(running), flush=True)

    def save_model(self, index):
        """Saves a finished SGD-CR temporal-order run and lists it in the manifest."""
        run = self.record["runs"][index]
        if run["status"] != "solved":
            return
        path = self.model_path(index)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.trainer.to_model(index).save(path)
        self.set_manifest_entry(
            path.name,
            {
                "task": self.record["task"],
                "method": run["method"],
                "seed": run["seed"],
                "scheme": self.record["scheme"],
                "min_length": self.record["min_length"],
                "max_length": self.record["max_length"],
                "updates": run["updates"],
                "file": path.name,
                "generalisation": self.record["max_length"] - self.record["min_length"]
                > 20,
            },
        )

    def save(self):
        self.trainer.save(self.checkpoint, metadata=self.record)
        self.record_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.record_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.record, indent=1))
        tmp.replace(self.record_path)


# Columns of a run's history after [updates, screen error %].
STAT_COLUMNS = ("loss", "grad_norm", "clipped", "nonfinite", "omega", "omega_valid")


def summarise(result, updates, lengths):
    """The parts of an `evaluate_task` result kept in the record (`lengths`: its
    length rule; records without it used `"random"`)."""
    return {
        "updates": updates,
        "lengths": lengths,
        "num_sequences": result["num_sequences"],
        "num_errors": result["num_errors"],
        "error_percent": result["error_percent"],
        "success": result["success"],
        "solved_zero_errors": result["solved_zero_errors"],
    }


def train(args):
    groups = [Group(*g, args) for g in groups_of(args)]
    start = time.perf_counter()
    last_save = start
    while any(g.active for g in groups):
        for group in groups:
            if group.active:
                group.advance()
        now = time.perf_counter()
        out_of_time = args.time_limit and now - start > args.time_limit
        if out_of_time or now - last_save > args.checkpoint_every:
            for group in groups:
                group.save()
            last_save = now
        if out_of_time:
            print(f"time limit reached after {now - start:.0f} s; rerun to resume")
            return
    for group in groups:
        group.save()


def load_records(directory):
    records = [
        json.loads(path.read_text())
        for path in pathlib.Path(directory).glob("*.json")
        if path.name != "manifest.json" and not path.name.startswith("generalisation")
    ]
    return sorted(
        records,
        key=lambda r: (r["task"], r["min_length"], r["max_length"], r["scheme"]),
    )


def latest_rate(record, clock="wall_seconds"):
    """Model updates per second (`clock`: `"wall_seconds"` or `"cpu_seconds"`)
    of training in the latest session that ran."""
    for session in reversed(record["sessions"]):
        updates = session.get("end_update", session["start_update"])
        steps = updates - session["start_update"]
        runs = session.get("stacked_runs", len(record["runs"]))
        if steps and runs and session[clock]:
            return steps * runs / session[clock]
    return float("nan")


def write_tables(records, path):
    methods = ("sgd", "sgd-c", "sgd-cr")
    lines = [
        "| task | lengths | init | "
        + " | ".join(
            f"{m}: success / zero errors (runs), updates, last error %" for m in methods
        )
        + " | updates/s (wall / CPU) | to finish |",
        "|---|---|---|" + "---|" * (len(methods) + 2),
    ]
    for record in records:
        cells = []
        for method in methods:
            runs = [r for r in record["runs"] if r["method"] == method]
            if not runs:
                cells.append("-")
                continue
            success = sum(bool(r["first_success"]) for r in runs)
            zero = sum(r["status"] == "solved" for r in runs)
            updates = [r["updates"] for r in runs]
            last = [r["history"][-1][1] for r in runs if r["history"]]
            text = (
                f"{success} / {zero} ({len(runs)}), {min(updates):,}-{max(updates):,}"
            )
            if last:
                text += f", {min(last):.1f}-{max(last):.1f}"
            cells.append(text)
        rate, cpu_rate = latest_rate(record), latest_rate(record, "cpu_seconds")
        remaining = sum(
            r["budget"] - r["updates"]
            for r in record["runs"]
            if r["status"] == "running"
        )
        if not remaining:
            finish = "0.0 h"
        elif cpu_rate > 0:
            finish = f"{remaining / cpu_rate / 3600:.1f} h"
        else:  # no session with a measured rate (nan)
            finish = "n/a"
        # A group started with --group-suffix is told apart by its suffix.
        standard = f"{record['task']}_{record['min_length']}-{record['max_length']}"
        suffix = record["group"].removeprefix(f"{standard}_{record['scheme']}")
        lines.append(
            f"| {record['task']} | {record['min_length']}-{record['max_length'] - 1} "
            f"| {record['scheme']}{suffix} | "
            + " | ".join(cells)
            + f" | {rate:.0f} / {cpu_rate:.0f} | {finish} |"
        )
    lines += [
        "",
        "success: under 1% errors on the paper's 10,000 fresh sequences at some "
        "evaluation; zero errors: the released code's stopping rule (such runs stop). "
        "Evaluations score every length of the range equally (successes judged "
        "before 2026-12-06 on one random length per 1,000 sequences, the released "
        "code's rule, were scored again so, and count only if they held). "
        "updates: range over the group's runs; last error: the latest screen "
        "(1,000 fresh sequences) of each run, range. updates/s: model updates "
        "(all runs of the group) per wall second and per CPU second of training "
        "in its latest session (one thread; on a shared machine the wall rate "
        "is the lower); to finish: the updates left to the running runs' "
        "budgets at the CPU rate, i.e. with a core of its own (a projection, "
        "not a measurement; runs that succeed stop earlier).",
    ]
    path.write_text("\n".join(lines) + "\n")


def plot(records, directory):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    schemes = sorted({r["scheme"] for r in records})
    figure, axes = plt.subplots(
        1, len(schemes), figsize=(4.5 * len(schemes), 3.6), squeeze=False
    )
    for axis, scheme in zip(axes[0], schemes):
        group = sorted(
            (
                r
                for r in records
                if r["scheme"] == scheme and r["max_length"] - r["min_length"] <= 20
            ),
            key=lambda r: r["min_length"],
        )
        for method, marker in (("sgd", "o"), ("sgd-c", "s"), ("sgd-cr", "^")):
            lengths, rates = [], []
            for record in group:
                runs = [r for r in record["runs"] if r["method"] == method]
                if runs:
                    lengths.append(record["min_length"])
                    rates.append(
                        100 * np.mean([bool(r["first_success"]) for r in runs])
                    )
            if lengths:
                axis.plot(lengths, rates, marker=marker, label=method.upper())
        running = sum(r["status"] == "running" for g in group for r in g["runs"])
        updates = [r["updates"] for g in group for r in g["runs"]]
        title = scheme
        if running and updates:
            # A success rate of unfinished runs is a lower bound: say so.
            title += (
                f"\nso far: {running} runs in progress, "
                f"{min(updates):,}-{max(updates):,} updates"
            )
        axis.set_title(title, fontsize=9)
        axis.set_xlabel("sequence length T (trained on [T, 1.1T))")
        axis.set_ylabel("rate of success (%)")
        axis.set_ylim(-5, 105)
        axis.legend()
    figure.tight_layout()
    figure.savefig(directory / "figure7.png", dpi=110)
    plt.close(figure)
    for record in records:
        figure, axis = plt.subplots(figsize=(6, 3.6))
        for run in record["runs"]:
            history = np.array(run["history"])
            if len(history):
                axis.plot(
                    history[:, 0],
                    history[:, 1],
                    label=f"{run['method']} s{run['seed']}",
                    lw=0.8,
                )
        axis.axhline(SUCCESS_PERCENT, color="k", ls="--", lw=0.8, label="1% (success)")
        axis.set_yscale("symlog", linthresh=1.0)
        axis.set_xlabel("updates")
        axis.set_ylabel("error on fresh sequences (%)")
        axis.set_title(record["group"])
        axis.legend(fontsize=6, ncol=3)
        figure.tight_layout()
        figure.savefig(directory / f"{record['group']}_error.png", dpi=100)
        plt.close(figure)


def score_at_length(model, task, length, num_sequences):
    """`evaluate_task` of `model` on `num_sequences` sequences of `length`
    steps: the same sequences for every model (the seed depends on the length
    alone)."""
    import keras_rnncr

    return keras_rnncr.tasks.evaluate_task(
        model,
        task,
        num_sequences=num_sequences,
        chunk_size=min(1000, num_sequences),
        min_length=length,
        max_length=length,
        seed=3_000_000 + length,
    )


def generalise(args):
    """Scores the manifest's generalisation models at `--test-lengths`."""
    import keras

    import keras_rnncr  # noqa: F401 (registers the layers for loading)

    directory = pathlib.Path(args.models_dir)
    manifest = json.loads((directory / "manifest.json").read_text())
    path = pathlib.Path(args.output_dir) / "generalisation.json"
    report = json.loads(path.read_text()) if path.exists() else {"models": {}}
    report["machine"], report["commit"] = machine(), commit()
    for entry in manifest:
        if not entry["generalisation"]:
            continue
        model = keras.saving.load_model(directory / entry["file"], compile=False)
        results = report["models"].setdefault(entry["file"], {})
        if any(r["updates"] != entry["updates"] for r in results.values()):
            results.clear()  # the file holds a model saved at another update
        for length in args.test_lengths:
            if str(length) in results:
                continue
            start = time.perf_counter()
            result = score_at_length(model, entry["task"], length, args.test_sequences)
            results[str(length)] = summarise(result, entry["updates"], "every")
            results[str(length)]["wall_seconds"] = time.perf_counter() - start
            print(
                f"{entry['file']} at {length}: {result['num_errors']} errors",
                flush=True,
            )
            path.write_text(json.dumps(report, indent=1))


def main(argv=None):
    args = parse_args(argv)
    import tensorflow as tf

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    output = pathlib.Path(args.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    if args.generalise:
        generalise(args)
        return
    if not args.report:
        train(args)
    records = load_records(output)
    if records:
        write_tables(records, output / "table.md")
        plot(records, output)


if __name__ == "__main__":
    main()
