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
    return {
        "group": f"temporal_order_{min_length}_{scheme}",
        "task": "temporal_order",
        "min_length": min_length,
        "max_length": min_length + min_length // 10,
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
