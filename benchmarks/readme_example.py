"""Runs the README's Python example as written, for seeds 0, 1, 2 (the seed line
replaced), timing fit, and prints the loss after each epoch and the errors."""

import pathlib
import time

src = open(pathlib.Path(__file__).resolve().parents[1] / "README.md").read()
block = src.split("## Example", 1)[1].split("```python", 1)[1].split("```", 1)[0]
for seed in (0, 1, 2):
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
