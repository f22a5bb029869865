"""reproduce_synthetic's report: the table's rates and projection, the figures."""

import json

import pytest


def _record(min_length, scheme, statuses):
    runs = []
    for i, (method, status) in enumerate(statuses):
        success = {"updates": 3000} if status == "solved" else None
        runs.append(
            {
                "method": method,
                "seed": i,
                "budget": 10_000,
                "status": status,
                "updates": 3000 if status == "solved" else 4000,
                "first_success": success,
                "final": None,
                "history": [[1000, 75.0], [4000, 0.0 if success else 60.0]],
                "evaluations": [],
            }
        )
    end = min_length + min_length // 10
    return {
        "group": f"temporal_order_{min_length}-{end}_{scheme}",
        "task": "temporal_order",
        "min_length": min_length,
        "max_length": end,
        "scheme": scheme,
        "sessions": [
            {
                "start_update": 0,
                "end_update": 4000,
                "wall_seconds": 400.0,
                "cpu_seconds": 100.0,
                "stacked_runs": len(runs),
            }
        ],
        "runs": runs,
    }


def _checkpoint_without_record(path):
    """Makes a group's checkpoint one of those written before it held the
    record, so that the group resumes with its record file."""
    import numpy as np

    with np.load(path) as stored:
        kept = {k: stored[k] for k in stored.files if k != "metadata"}
    np.savez(path, **kept)


def _tiny_sweep(tmp_path):
    """Arguments of a sweep of tiny SGD-CR runs at length 12 under `tmp_path`."""
    return [
        "--lengths",
        "12",
        "--methods",
        "sgd-cr",
        "--units=4",
        "--eval-every=5",
        "--screen-sequences=20",
        "--eval-sequences=40",
        f"--output-dir={tmp_path / 'out'}",
        f"--models-dir={tmp_path / 'models'}",
    ]


def test_table_rates_and_projection(tmp_path, load_benchmark):
    reproduce = load_benchmark("reproduce_synthetic")
    record = _record(
        50,
        "smart_tanh",
        [("sgd", "running"), ("sgd-cr", "solved"), ("sgd-cr", "running")],
    )
    (tmp_path / "a.json").write_text(json.dumps(record))
    records = reproduce.load_records(tmp_path)
    assert reproduce.latest_rate(records[0]) == pytest.approx(4000 * 3 / 400)
    assert reproduce.latest_rate(records[0], "cpu_seconds") == pytest.approx(120.0)
    reproduce.write_tables(records, tmp_path / "table.md")
    row = (tmp_path / "table.md").read_text().splitlines()[2]
    # sgd-cr: one of two runs succeeded and solved; 30 / 120 model-updates/s.
    assert "| 1 / 1 (2), 3,000-4,000" in row
    assert "| 30 / 120 |" in row
    # Two running runs, 6,000 updates each left, at the CPU rate: 100 s.
    assert row.endswith(f"| {2 * 6000 / 120 / 3600:.1f} h |")


def test_figures_are_written(tmp_path, load_benchmark):
    pytest.importorskip("matplotlib")
    reproduce = load_benchmark("reproduce_synthetic")
    records = [
        _record(50, "smart_tanh", [("sgd", "running"), ("sgd-cr", "solved")]),
        _record(100, "smart_tanh", [("sgd", "running"), ("sgd-cr", "running")]),
    ]
    reproduce.plot(records, tmp_path)
    assert (tmp_path / "figure7.png").stat().st_size > 0
    for record in records:
        assert (tmp_path / f"{record['group']}_error.png").stat().st_size > 0


def test_runs_solved_on_random_lengths_are_checked_on_every_length(
    tmp_path, load_benchmark
):
    """A run whose zero-error stop was judged on random lengths is scored again
    on every length when its group resumes; failing that, it trains on."""
    reproduce = load_benchmark("reproduce_synthetic")
    common = [*_tiny_sweep(tmp_path), "--seeds", "0", "1"]
    reproduce.main([*common, "--budget", "sgd-cr=5"])  # at chance after 5 updates
    name = "temporal_order_12-13_smart_tanh"
    path = tmp_path / "out" / f"{name}.json"
    record = json.loads(path.read_text())
    claimed = {"updates": 5, "success": True, "solved_zero_errors": True}
    for run in record["runs"]:
        assert run["status"] == "budget" and run["final"]["lengths"] == "every"
    # As the sweep recorded runs before 2026-12-06 (no "lengths": random ones).
    record["runs"][0].update(
        status="solved", first_success=claimed, final=claimed, budget=10
    )
    record["runs"][1].update(status="solved", first_success=claimed, final=claimed)
    path.write_text(json.dumps(record))
    _checkpoint_without_record(tmp_path / "out" / "checkpoints" / f"{name}.npz")
    models = tmp_path / "models"
    models.mkdir()
    (models / f"{name}_sgd-cr_s0.keras").write_text("stale")
    (models / "manifest.json").write_text(
        json.dumps([{"file": f"{name}_sgd-cr_s0.keras"}, {"file": "other.keras"}])
    )
    reproduce.main(common)
    record = json.loads(path.read_text())
    run, ended = record["runs"]
    # Seed 0 is at chance on every length: not a success; it trained on, to
    # its budget.
    assert run["recheck"]["lengths"] == "every" and run["recheck"]["num_errors"] > 0
    assert run["first_success"] is None
    assert run["first_success_random_lengths"] == claimed
    assert run["status"] == "budget" and run["updates"] == 10
    assert run["final"]["lengths"] == "every" and run["final"]["updates"] == 10
    assert not (models / f"{name}_sgd-cr_s0.keras").exists()
    manifest = json.loads((models / "manifest.json").read_text())
    assert manifest == [{"file": "other.keras"}]
    # Seed 1 is at its budget: it ends there, no longer a success.
    assert ended["status"] == "budget" and ended["first_success"] is None
    assert ended["updates"] == 5 and ended["final"] == ended["recheck"]


def test_generalisation_scores_are_redone_for_a_model_saved_again(
    tmp_path, load_benchmark
):
    import keras

    import keras_rnncr

    reproduce = load_benchmark("reproduce_synthetic")
    models, out = tmp_path / "models", tmp_path / "out"
    models.mkdir()
    out.mkdir()
    keras.utils.set_random_seed(0)
    keras_rnncr.tasks.task_model("temporal_order", units=3).save(models / "m.keras")
    entry = {"task": "temporal_order", "updates": 7, "file": "m.keras"}
    (models / "manifest.json").write_text(
        json.dumps([{**entry, "generalisation": True}])
    )
    stale = {"updates": 5, "num_errors": 0, "num_sequences": 10}
    (out / "generalisation.json").write_text(
        json.dumps({"models": {"m.keras": {"12": stale, "13": stale}}})
    )
    common = [f"--models-dir={models}", f"--output-dir={out}"]
    reproduce.main(
        [*common, "--generalise", "--test-lengths", "12", "--test-sequences=20"]
    )
    scores = json.loads((out / "generalisation.json").read_text())["models"]["m.keras"]
    # The model in the file was saved at update 7: both old scores go, 12 is redone.
    assert list(scores) == ["12"]
    assert scores["12"]["updates"] == 7 and scores["12"]["num_sequences"] == 20


def test_other_seeds_on_a_range_go_to_a_group_of_their_own(tmp_path, load_benchmark):
    """Asking a group's checkpoint for runs it does not hold is an error that
    names the arguments; `--group-suffix` starts another group beside it."""
    reproduce = load_benchmark("reproduce_synthetic")
    common = [*_tiny_sweep(tmp_path), "--budget", "sgd-cr=5"]
    reproduce.main([*common, "--seeds", "0"])
    with pytest.raises(SystemExit, match="--methods and --seeds.*--group-suffix"):
        reproduce.main([*common, "--seeds", "1", "2"])
    reproduce.main([*common, "--seeds", "1", "2", "--group-suffix", "_more"])
    more = json.loads(
        (tmp_path / "out" / "temporal_order_12-13_smart_tanh_more.json").read_text()
    )
    assert [r["seed"] for r in more["runs"]] == [1, 2]
    first = json.loads(
        (tmp_path / "out" / "temporal_order_12-13_smart_tanh.json").read_text()
    )
    assert [r["seed"] for r in first["runs"]] == [0]
    table = (tmp_path / "out" / "table.md").read_text()
    assert "| temporal_order | 12-12 | smart_tanh_more |" in table
    assert "| temporal_order | 12-12 | smart_tanh |" in table


def test_settings_changed_on_resuming_are_said_and_kept_per_session(
    tmp_path, load_benchmark, capsys
):
    reproduce = load_benchmark("reproduce_synthetic")
    common = [*_tiny_sweep(tmp_path), "--seeds", "0", "--schemes", "smart_tanh"]
    reproduce.main([*common, "--budget", "sgd-cr=5"])
    capsys.readouterr()
    reproduce.main(
        [
            *[a for a in common if a != "--eval-every=5"],
            "--eval-every=10",
            "--learning-rate=0.5",
            "--budget",
            "sgd-cr=7",
        ]
    )
    said = capsys.readouterr().out
    assert "learning_rate 0.01 -> 0.5 (not applied: the runs keep the group's)" in said
    assert "eval_every 5 -> 10 (applied from this session on)" in said
    assert "budgets sgd-cr seed 0 5 -> 7 (not applied" in said
    name = "temporal_order_12-13_smart_tanh"
    record = json.loads((tmp_path / "out" / f"{name}.json").read_text())
    assert [s["settings"]["eval_every"] for s in record["sessions"]] == [5, 10]
    assert record["settings"]["learning_rate"] == 0.01
    # A --budget naming other methods only: the group's runs are not among
    # them, nothing to say.
    reproduce.main([*common, "--budget", "sgd=3"])
    assert "budgets" not in capsys.readouterr().out


def test_resume_takes_the_record_saved_with_the_weights(tmp_path, load_benchmark):
    # A process that ended between writing its checkpoint and its record file
    # left a record one save behind the weights: the resumed group takes the
    # record stored in the checkpoint, which matches them.
    reproduce = load_benchmark("reproduce_synthetic")
    common = [*_tiny_sweep(tmp_path), "--seeds", "0", "--schemes", "smart_tanh"]
    name = "temporal_order_12-13_smart_tanh"
    record_path = tmp_path / "out" / f"{name}.json"
    # One round of 5 updates per invocation (the time limit ends each after
    # its first round), 15 in all.
    once = [*common, "--budget", "sgd-cr=15", "--time-limit=1e-9"]
    reproduce.main(once)
    behind = record_path.read_text()
    reproduce.main(once)
    ahead = json.loads(record_path.read_text())
    assert ahead["runs"][0]["updates"] == 10
    record_path.write_text(behind)
    reproduce.main(once)
    resumed = json.loads(record_path.read_text())
    assert resumed["runs"][0]["updates"] == 15
    assert resumed["runs"][0]["history"][:2] == ahead["runs"][0]["history"]
    assert len(resumed["sessions"]) == len(ahead["sessions"]) + 1
