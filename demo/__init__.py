"""The Gradio web demo of `jasco_core`.

- `demo.ui`: layout, components, event wiring and examples (`build_demo`).
- `demo.handlers`: turns UI values into generation requests and results into what the page shows.
- `demo.plots`: the matplotlib figures (condition previews, trajectories, spectrograms).
- `demo.examples`: the example inputs bundled in `assets/examples/` and the script that renders them.

`app.py` at the repository root builds the demo and launches it.
"""
