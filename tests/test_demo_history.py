import json

from demo import history


def _run(tmp_path, name, **inputs):
    path = tmp_path / f"{name}_parameters.json"
    path.write_text(json.dumps({"demo_inputs": {"text": "a tune", "seed": 3, **inputs},
                                "result": {"nfe": 10, "seconds": 1.5}}))
    return str(path)


def test_the_history_names_each_solver_as_chosen(tmp_path):
    cases = {"fast": dict(solver="fast", steps=4, log10_rtol=-5),
             "reference": dict(solver="reference", steps=4, log10_rtol=-5),
             "euler 4": dict(solver="euler", steps=4, schedule="uniform", log10_rtol=-5),
             "midpoint 5 sway=-1": dict(solver="midpoint", steps=5, schedule="sway=-1", log10_rtol=-5),
             "dopri5 1e-4": dict(solver="dopri5", steps=4, log10_rtol=-4),
             "rk4:2/sway=-1": dict(solver="rk4:2/sway=-1", steps=4, log10_rtol=-5)}
    for expected, inputs in cases.items():
        assert history.entry(_run(tmp_path, expected.replace(" ", "_").replace(":", "_").replace("/", "_"),
                                  **inputs))["solver"] == expected


def test_the_history_keeps_the_newest_runs_first_and_renders_them(tmp_path):
    runs, html = [], ""
    for k in range(history.KEEP + 2):
        runs, html = history.record(runs, [_run(tmp_path, f"run{k}", solver="fast")])
    assert [e["run"] for e in runs] == list(range(history.KEEP + 2, 2, -1))
    assert html.count("<tr>") == history.KEEP + 1 and "fast" in html and "1.50" in html
    assert history.record([], [])[1] == history.EMPTY
    assert history.entry(str(tmp_path / "missing.json")) is None
