"""The reproduction scripts, stopped by their time limit and rerun, give the
results of one uninterrupted invocation (tiny models on the dummy data)."""

import json

import numpy as np
import pytest

from tests.dummy_data import dummy_data

# Per-session timings differ between the two ways of running; nothing else may.
_TIMINGS = {"train_seconds", "epoch_seconds", "finished", "wall_seconds"}


def _without_timings(value):
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if k not in _TIMINGS}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def _invoke_until_done(main, arguments, expected, limit=None):
    """Invokes `main` (with `--time-limit` if given) until `expected` runs are done."""
    invocations = 0
    while True:
        invocations += 1
        extra = [] if limit is None else [f"--time-limit={limit}"]
        results = main([*arguments, *extra])
        if invocations > 20:
            raise AssertionError("the benchmark makes no progress")
        done = {(r["method"], r.get("seed"), r.get("ahead")) for r in results["runs"]}
        if len(done) == expected:
            return results, invocations


@pytest.mark.slow
def test_music_reproduction_resumes_to_the_uninterrupted_results(
    tmp_path, load_benchmark
):
    pytest.importorskip("scipy", reason="the builder reads .mat files with scipy")
    reproduce = load_benchmark("reproduce_music")
    manual = dummy_data("polyphonic_music") / "manual"
    common = [
        "--datasets=jsb_chorales",
        "--methods",
        "sgd",
        "sgd-cr",
        "--seeds=0",
        "--units=4",
        "--max-epochs=5",
        "--patience=1",
        "--max-halvings=1",
        f"--data-dir={manual}",
        f"--tfds-dir={tmp_path / 'tfds'}",
        "--verbose=0",
    ]

    def arguments(name):
        return [
            *common,
            f"--work-dir={tmp_path / name}",
            f"--results={tmp_path / name}",
        ]

    whole, invocations = _invoke_until_done(reproduce.main, arguments("whole"), 2)
    assert invocations == 1
    # A limit shorter than an epoch stops every invocation after one epoch.
    cut, invocations = _invoke_until_done(reproduce.main, arguments("cut"), 2, 0.01)
    assert invocations > 2
    assert _without_timings(cut["runs"]) == _without_timings(whole["runs"])
    for run in whole["runs"]:
        assert len(run["curves"]["val_frame_nll"]) == run["epochs"]
        assert np.isfinite(run["nll"]["test"])
        # the optimizer's count; one batch size throughout: epochs x steps
        assert run["updates"] == run["epochs"] * run["updates_per_epoch"]
        assert run["machine"]["threads"] == 1
        assert run["settings_by_epoch"][0]["from_epoch"] == 1
    report = (tmp_path / "cut" / "music_table1.md").read_text()
    assert "key frequencies" in report and "Runs not finished" not in report
    saved = json.loads((tmp_path / "cut" / "music_table1.json").read_text())
    assert saved["command"].startswith("python benchmarks/reproduce_music.py")
    # A report alone leaves the records as they are.
    before = (tmp_path / "cut" / "music_table1.json").read_text()
    reproduce.main([*arguments("cut"), "--report-only"])
    assert (tmp_path / "cut" / "music_table1.json").read_text() == before
    # A sample from the best SGD-CR model, rebuilt from its best weights.
    reproduce.main([*arguments("cut"), "--report-only", "--samples"])
    sample = json.loads((tmp_path / "cut" / "music_table1.json").read_text())
    sample = sample["samples"]["jsb_chorales"]
    assert sample["method"] == "sgd-cr" and sample["frames"] == 200
    roll = np.load(tmp_path / "cut" / "music_sample_jsb_chorales.npz")["roll"]
    assert roll.shape == (200, 88) and roll.dtype == bool
    assert (tmp_path / "cut" / "music_sample_jsb_chorales.png").stat().st_size > 0
    assert "Sampled piano rolls" in (tmp_path / "cut" / "music_table1.md").read_text()


@pytest.mark.slow
def test_char_lm_reproduction_resumes_to_the_uninterrupted_results(
    tmp_path, load_benchmark
):
    reproduce = load_benchmark("reproduce_char_lm")
    manual = dummy_data("ptb_char") / "manual"
    common = [
        "--aheads",
        "1",
        "5",
        "--methods",
        "sgd-cr",
        "--seeds=0",
        "--units=4",
        "--batch-size=2",
        "--segment-length=10",
        "--max-epochs=3",
        "--patience=1",
        "--max-halvings=1",
        "--train-eval-chars=100",
        f"--data-dir={manual}",
        f"--tfds-dir={tmp_path / 'tfds'}",
        "--verbose=0",
    ]

    def arguments(name):
        return [
            *common,
            f"--work-dir={tmp_path / name}",
            f"--results={tmp_path / name}",
        ]

    whole, invocations = _invoke_until_done(reproduce.main, arguments("whole"), 2)
    assert invocations == 1
    cut, invocations = _invoke_until_done(reproduce.main, arguments("cut"), 2, 0.01)
    assert invocations > 2
    assert _without_timings(cut["runs"]) == _without_timings(whole["runs"])
    for run in cut["runs"]:
        assert run["settings_by_epoch"] == [
            {"from_epoch": 1, "settings": run["settings"]}
        ]
    assert set(whole["unigram"]) == {"1", "5"}
    report = (tmp_path / "cut" / "char_lm_table1.md").read_text()
    assert "unigram" in report and "Runs not finished" not in report
    # Text sampled from the best next-character SGD-CR model.
    sampled = reproduce.main([*arguments("cut"), "--report-only", "--samples"])
    sample = sampled["sample"]
    assert sample["method"] == "sgd-cr" and len(sample["text"]) == 400
    assert (
        sample["prompt"]
        and "Sampled text" in (tmp_path / "cut" / "char_lm_table1.md").read_text()
    )


def test_char_lm_run_records_settings_changed_on_resuming(tmp_path, load_benchmark):
    reproduce = load_benchmark("reproduce_char_lm")
    settings = {"learning_rate": 10.0, "min_improvement": 0.003, "max_epochs": 50}
    fresh = reproduce.settings_history(tmp_path / "fresh", settings, 0)
    assert fresh == [{"from_epoch": 1, "settings": settings}]
    assert reproduce.settings_history(tmp_path / "fresh", settings, 7) == fresh
    longer = {**settings, "max_epochs": 80}
    history = reproduce.settings_history(tmp_path / "fresh", longer, 7)
    assert history[1] == {"from_epoch": 8, "settings": longer}
    assert reproduce.settings_changes(history) == ["from epoch 8: max_epochs 50 -> 80"]
    # A checkpoint from before settings were kept trained with any gain as a
    # new best.
    (tmp_path / "old").mkdir()
    old = reproduce.settings_history(tmp_path / "old", settings, 50)
    assert old[0] == {"from_epoch": 1, "settings": {**settings, "min_improvement": 0.0}}
    assert reproduce.settings_changes(old) == [
        "from epoch 51: min_improvement 0.0 -> 0.003"
    ]


def test_results_written_side_by_side_keep_each_others_runs(tmp_path, load_benchmark):
    resumable = load_benchmark("_resumable")
    path = tmp_path / "table.json"
    # Two invocations loaded the file before either finished a run.
    first = resumable.load_results(path, {"machine": "m"})
    second = resumable.load_results(path, {"machine": "m"})
    first["runs"].append({"method": "sgd-c", "seed": 0, "curve": (1.0, 2.0)})
    resumable.save_results(path, first)
    second["runs"].append({"method": "sgd-cr", "seed": 0, "curve": [3.0]})
    resumable.save_results(path, second)
    # The first writes again (say its report at exit, a run's record edited):
    # nothing is doubled, and its own run is written as it holds it.
    first["runs"][0]["curve"] = [1.5]
    resumable.save_results(path, first)
    runs = json.loads(path.read_text())["runs"]
    assert sorted(r["method"] for r in runs) == ["sgd-c", "sgd-cr"]
    assert len(first["runs"]) == 2
    assert [r["curve"] for r in runs if r["method"] == "sgd-c"] == [[1.5]]


def test_results_written_side_by_side_keep_each_others_entries(
    tmp_path, load_benchmark
):
    resumable = load_benchmark("_resumable")
    path = tmp_path / "table.json"
    first = resumable.load_results(path, {"machine": "m"})
    second = resumable.load_results(path, {"machine": "m"})
    first["baselines"] = {"jsb_chorales": 1.0}
    first["samples"] = {"jsb_chorales": "roll"}
    resumable.save_results(path, first)
    second["baselines"] = {"muse_data": 2.0}
    resumable.save_results(path, second)
    saved = json.loads(path.read_text())
    assert saved["baselines"] == {"jsb_chorales": 1.0, "muse_data": 2.0}
    assert saved["samples"] == {"jsb_chorales": "roll"}


def test_one_run_is_trained_by_one_process_at_a_time(tmp_path, load_benchmark):
    resumable = load_benchmark("_resumable")
    with resumable.run_lock(tmp_path / "run"):
        with pytest.raises(RuntimeError, match="being trained by another process"):
            with resumable.run_lock(tmp_path / "run"):
                pass
    with resumable.run_lock(tmp_path / "run"):
        pass


def test_settings_that_a_resumed_run_does_not_take_are_said_so(
    tmp_path, load_benchmark, capsys
):
    resumable = load_benchmark("_resumable")
    settings = {"learning_rate": 1.0, "threshold": 2.25}
    resumable.settings_history(tmp_path, settings, 0)
    changed = {"learning_rate": 2.0, "threshold": 1.125}
    history = resumable.settings_history(tmp_path, changed, 3)
    assert resumable.settings_changes(history) == [
        "from epoch 4: learning_rate 1.0 -> 2.0 (not applied: the run keeps its "
        "restored rate), threshold 2.25 -> 1.125"
    ]
    resumable.warn_if_settings_differ({"settings": settings}, changed, "run x")
    said = capsys.readouterr().out
    assert "run x is finished with other settings" in said
    assert "learning_rate 1.0 (now 2.0)" in said
    resumable.warn_if_settings_differ({"settings": settings}, settings, "run x")
    assert capsys.readouterr().out == ""


def test_results_lock_excludes_another_holder_until_released(tmp_path, load_benchmark):
    # The scripts load (and on first use prepare) their TFDS data under this
    # lock: two invocations started together once raced to prepare ptb_char.
    import fcntl

    resumable = load_benchmark("_resumable")
    path = tmp_path / "table.json"

    def try_lock():
        with open(tmp_path / "table.json.lock", "w") as other:
            try:
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            fcntl.flock(other, fcntl.LOCK_UN)
            return True

    with resumable.results_lock(path):
        assert not try_lock()
    assert try_lock()


def test_char_lm_report_lists_runs_another_invocation_trains(tmp_path, load_benchmark):
    reproduce = load_benchmark("reproduce_char_lm")
    for name, epochs in (("sgd-cr_seed1", 4), ("sgd-c_seed0", 10)):
        directory = tmp_path / "ahead1" / name
        directory.mkdir(parents=True)
        history = {"val_bits_per_character": [2.0 - 0.1 * e for e in range(epochs)]}
        (directory / "state.json").write_text(
            json.dumps({"epochs_done": epochs, "history": history})
        )
    assert reproduce.checkpointed_runs(
        reproduce.parse_args([f"--work-dir={tmp_path}"])
    ) == [("sgd-c", 1, 0), ("sgd-cr", 1, 1)]
    args = reproduce.parse_args(
        [f"--work-dir={tmp_path}", "--methods=sgd-cr", "--seeds=1", "--aheads=1"]
    )
    results = {
        "setup": {"machine": "m", "vocabulary_size": 5},
        "runs": [],
        "unigram": {},
    }
    text = reproduce.report(results, args)
    assert "- sgd-cr ahead 1 seed 1: 4 epochs done" in text
    assert (
        "- sgd-c ahead 1 seed 0 (another invocation's: continue it with "
        "`--methods sgd-c --seeds 0 --aheads 1`"
    ) in text


def test_the_settings_file_is_written_for_a_run_that_had_none(tmp_path, load_benchmark):
    # A checkpoint from before the music runs kept their settings: the file
    # is written at the next session even though nothing changed.
    resumable = load_benchmark("_resumable")
    settings = {"learning_rate": 1.0}
    assert resumable.read_settings_history(tmp_path) == []
    history = resumable.settings_history(tmp_path, settings, 5)
    assert history == [{"from_epoch": 1, "settings": settings}]
    assert resumable.read_settings_history(tmp_path) == history


def test_a_stale_copy_does_not_overwrite_what_another_process_wrote(
    tmp_path, load_benchmark
):
    resumable = load_benchmark("_resumable")
    path = tmp_path / "table.json"
    start = resumable.load_results(path, {"machine": "m"})
    start["runs"].append({"method": "sgd-c", "seed": 0, "curve": [1.0]})
    start["samples"] = {"jsb_chorales": "old roll", "nottingham": "roll"}
    resumable.save_results(path, start)
    # Two invocations start from that file; the second draws a new sample and
    # edits a run's record; the first then writes things of its own only.
    first = resumable.load_results(path, {"machine": "m"})
    second = resumable.load_results(path, {"machine": "m"})
    second["samples"]["jsb_chorales"] = "new roll"
    second["runs"][0]["curve"] = [2.0]
    second["note"] = "second"
    resumable.save_results(path, second)
    first["runs"].append({"method": "sgd-cr", "seed": 0, "curve": [3.0]})
    first["samples"]["muse_data"] = "muse roll"
    resumable.save_results(path, first)
    saved = json.loads(path.read_text())
    assert saved["samples"] == {
        "jsb_chorales": "new roll",
        "nottingham": "roll",
        "muse_data": "muse roll",
    }
    assert saved["note"] == "second"
    assert {r["method"]: r["curve"] for r in saved["runs"]} == {
        "sgd-c": [2.0],
        "sgd-cr": [3.0],
    }
    # `first` now holds what was written, and a later change of its own wins.
    assert first == saved
    first["samples"]["jsb_chorales"] = "third roll"
    resumable.save_results(path, first)
    assert json.loads(path.read_text())["samples"]["jsb_chorales"] == "third roll"
