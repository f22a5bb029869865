"""Runs the README's Python example as written, for seeds 0, 1, 2 (the seed line
replaced), timing fit, and prints the loss after each epoch and the errors.

Each seed runs in a fresh process, as a new user runs the example: the first `fit`
of a process includes its first tracing and compilation, which later seeds in the
same process would skip (before 2026-12-07 they ran in one process, so seeds 1
and 2 were timed warm).

    python benchmarks/readme_example.py [--seeds 0 1 2]
"""

import argparse
import pathlib
import subprocess
import sys
import time

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
args = parser.parse_args()
if len(args.seeds) > 1:
    for seed in args.seeds:
        subprocess.run([sys.executable, __file__, "--seeds", str(seed)], check=True)
    sys.exit(0)

src = open(pathlib.Path(__file__).resolve().parents[1] / "README.md").read()
block = src.split("## Example", 1)[1].split("```python", 1)[1].split("```", 1)[0]
for seed in args.seeds:
    code = block.replace(
        "keras.utils.set_random_seed(0)", f"keras.utils.set_random_seed({seed})"
    )
    code = code.replace(
        "model.fit(", "_t = time.perf_counter(); history = model.fit(", 1
    )
    code = code.replace("# logs:", "_fit_s = time.perf_counter() - _t\n# logs:", 1)
    g = {"time": time}
    exec(compile(code, "README-example", "exec"), g)
    losses = [round(v, 3) for v in g["history"].history["loss"]]
    print(
        f"seed {seed}: fit {g['_fit_s']:.1f} s, loss by epoch {losses}, "
        f"{g['result']['error_percent']:.2f}% errors",
        flush=True,
    )
