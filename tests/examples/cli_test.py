"""Tests of examples/_cli.py: the examples' shared flags and quiet start-up."""

import os
import subprocess
import sys

import pytest

import keras_rnncr
from tests.examples.conftest import EXAMPLES

_NAMES = ("synthetic_tasks", "music", "char_lm")
_COMMON = (
    "method",
    "learning_rate",
    "threshold",
    "omega",
    "seed",
    "threads",
    "verbose",
    "output",
    "no_export",
)


def _run(code, *args, env=None):
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=EXAMPLES,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


@pytest.mark.parametrize("name", _NAMES)
def test_help_shows_defaults_without_importing_tensorflow(name):
    code = (
        "import runpy, sys\n"
        "try:\n"
        f"    runpy.run_path('{name}.py', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('tensorflow loaded:', 'tensorflow' in sys.modules)\n"
    )
    result = _run(code, "--help")
    assert "tensorflow loaded: False" in result.stdout
    assert "(default: sgd-cr)" in result.stdout
    assert "--omega" in result.stdout and "--alpha" not in result.stdout


@pytest.mark.parametrize("name", _NAMES)
def test_every_example_takes_the_common_flags(name, load_example):
    args = vars(load_example(name).parse_args([]))
    assert set(_COMMON) <= set(args)
    assert (args["method"], args["seed"], args["threads"]) == ("sgd-cr", 0, 0)


def test_spelled_out_choices_match_the_library(load_example):
    cli = load_example("_cli")
    assert cli.METHODS == keras_rnncr.methods.METHODS
    assert cli.METHODS == keras_rnncr.tasks.METHODS
    assert cli.METHODS == keras_rnncr.music.METHODS == keras_rnncr.text.METHODS
    synthetic = load_example("synthetic_tasks")
    assert cli.MAX_SEED == keras_rnncr.initializers.paper_schemes.MAX_SEED
    assert synthetic.TASKS == tuple(keras_rnncr.tasks.TASKS)
    assert synthetic.MINIMUM_LENGTHS == {
        task: keras_rnncr.tasks.get_task(task).minimum_length
        for task in synthetic.TASKS
    }
    assert synthetic.SCHEMES == tuple(keras_rnncr.initializers.PAPER_SCHEMES)
    assert synthetic.REGRESSION_TASKS == tuple(
        t
        for t in synthetic.TASKS
        if keras_rnncr.tasks.get_task(t).output_head == "last_linear"
    )
    assert load_example("music").DATASETS == tuple(keras_rnncr.music.DATASETS)
    assert load_example("char_lm").CORPORA == tuple(keras_rnncr.text.CORPORA)


@pytest.mark.parametrize(
    "name, flags, message",
    [
        (
            "synthetic_tasks",
            ["--eval-every", "0"],
            "--eval-every: '0' is not a positive integer",
        ),
        (
            "synthetic_tasks",
            ["--eval-every", "-5"],
            "--eval-every: '-5' is not a positive",
        ),
        (
            "synthetic_tasks",
            ["--max-updates", "0"],
            "--max-updates: '0' is not a positive integer",
        ),
        ("synthetic_tasks", ["--max-updates", "2500"], "must be a multiple of"),
        (
            "synthetic_tasks",
            ["--threads", "-1"],
            "--threads: '-1' is not an integer >= 0",
        ),
        (
            "synthetic_tasks",
            ["--seed", "-1"],
            "--seed: '-1' is not an integer in [0, 715827881]",
        ),
        (
            "char_lm",
            ["--seed", "715827882"],
            "--seed: '715827882' is not an integer in [0, 715827881]",
        ),
        (
            "music",
            ["--output", __file__],
            "--output: " + repr(__file__) + " exists and is not a folder",
        ),
        (
            "synthetic_tasks",
            ["--output", __file__ + "/runs"],
            "cannot be created: " + repr(__file__) + " is not a folder",
        ),
        (
            "synthetic_tasks",
            ["--learning-rate", "nan"],
            "--learning-rate: 'nan' is not",
        ),
        (
            "char_lm",
            ["--temperature", "0"],
            "--temperature: '0' is not a positive finite number",
        ),
        (
            "char_lm",
            ["--sample-length", "-3"],
            "--sample-length: '-3' is not an integer >= 0",
        ),
        (
            "synthetic_tasks",
            ["--min-length", "300"],
            "--max-length must be at least --min-length",
        ),
        (
            "synthetic_tasks",
            ["--task", "addition", "--min-length", "2"],
            "--min-length must be at least 10 for --task addition",
        ),
        (
            "char_lm",
            ["--data-dir", os.path.dirname(__file__)],
            "--data-dir applies only to --dataset ptb",
        ),
        (
            "char_lm",
            ["--dataset", "ptb", "--data-dir", "/nonexistent"],
            "--data-dir: '/nonexistent' is not an existing folder",
        ),
        (
            "music",
            ["--dataset", "nottingham", "--data-dir", "/nonexistent"],
            "--data-dir: '/nonexistent' is not an existing folder",
        ),
        (
            "music",
            ["--tfds-dir", "/tmp"],
            "--tfds-dir applies to the TFDS datasets only",
        ),
        # Flags the method leaves unused, given explicitly (a default too).
        (
            "synthetic_tasks",
            ["--method", "sgd", "--threshold", "1"],
            "--threshold applies to --method sgd-c and sgd-cr (clipping) only",
        ),
        (
            "music",
            ["--method", "sgd-c", "--omega", "0.5"],
            "--omega applies to --method sgd-cr only; got --method sgd-c",
        ),
        (
            "char_lm",
            ["--method", "sgd", "--alpha", "0.5"],
            "--omega applies to --method sgd-cr only; got --method sgd",
        ),
        (
            "char_lm",
            ["--lr-monitor", "none", "--lr-patience", "2"],
            "--lr-patience applies to a halving learning rate; got --lr-monitor none",
        ),
        (
            "char_lm",
            ["--min-improvement", "1"],
            "--min-improvement: '1' is not a number in [0, 1)",
        ),
        (
            "char_lm",
            ["--ahead", "5", "--train-eval-chars", "5"],
            "--train-eval-chars must be more than --ahead (5)",
        ),
        ("music", ["--epochs", "0"], "--epochs: '0' is not a positive integer"),
        ("music", ["--learning-rate", "-1"], "--learning-rate: '-1' is not"),
        (
            "music",
            ["--dataset", "nottingham", "--num-chorales", "3"],
            "offline_chorales",
        ),
    ],
)
def test_bad_flags_are_refused_before_anything_runs(
    name, flags, message, load_example, capsys
):
    with pytest.raises(SystemExit):
        load_example(name).parse_args(flags)
    assert message in capsys.readouterr().err


def test_max_updates_below_one_epoch_is_one_short_epoch(load_example):
    synthetic = load_example("synthetic_tasks")
    args = synthetic.parse_args(["--max-updates", "5", "--eval-every", "20"])
    assert (args.max_updates, args.eval_every) == (5, 20)


def test_alpha_is_a_deprecated_alias_of_omega(load_example, capsys):
    synthetic = load_example("synthetic_tasks")
    args = synthetic.parse_args(["--alpha", "2.5"])
    assert "warning: --alpha is deprecated; use --omega." in capsys.readouterr().err
    assert args.omega == 2.5
    assert not hasattr(args, "alpha")
    assert synthetic.parse_args([]).omega is None  # the task's, set in main


def test_unused_flags_left_at_their_defaults_are_accepted_and_recorded_as_none(
    load_example,
):
    cli, synthetic = load_example("_cli"), load_example("synthetic_tasks")
    args = synthetic.parse_args(["--method", "sgd"])
    args.threshold, args.omega = 1.0, 4.0  # as main resolves them
    record = cli.recorded(args, cli.method_unused("sgd"))
    assert record["threshold"] is None and record["omega"] is None
    assert record["learning_rate"] is None and record["method"] == "sgd"
    assert cli.method_unused("sgd-cr") == {}


def test_start_up_noise_is_hidden_and_the_rest_kept(load_example, capfd):
    cli = load_example("_cli")
    with cli._filtered_stderr(cli._START_UP_NOISE):
        os.write(
            2,
            b"WARNING: All log messages before absl::InitializeLog() is called are "
            b"written to STDERR\n"
            b"E0000 00:00:1.0 123 cuda_platform.cc:52] failed call to cuInit: "
            b"INTERNAL: CUDA error: UNKNOWN ERROR (303)\n"
            b"E0000 00:00:1.0 123 other.cc:1] a real error\n",
        )
    assert capfd.readouterr().err == "E0000 00:00:1.0 123 other.cc:1] a real error\n"


@pytest.mark.slow
def test_start_tensorflow_hides_the_start_up_noise_and_prints_one_line():
    code = (
        "import os, _cli\n"
        "_cli.start_tensorflow()\n"
        "print('level', os.environ['TF_CPP_MIN_LOG_LEVEL'])\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    result = _run(code, env=env)
    assert "absl::InitializeLog" not in result.stderr
    assert "cuInit" not in result.stderr
    assert "TensorFlow " in result.stdout and "level 2" in result.stdout


def test_start_tensorflow_keeps_a_users_log_level(load_example, monkeypatch):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "1")
    load_example("_cli").start_tensorflow()
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "1"
