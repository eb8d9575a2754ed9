"""The Gradio web demo of `jasco_core`.

- `demo.ui`: layout and event wiring (`build_demo`, `launch_options`).
- `demo.components`: Gradio components whose own checks name the field at fault (`Checked*`).
- `demo.handlers`: one thin method per event (`DemoHandlers`): inputs -> library call -> outputs.
- `demo.inputs`: UI values -> typed values (guidance, solvers, Compare runs), field labels and errors,
  the controls' defaults from the pipeline.
- `demo.outputs`: download folders, WAV and JSON records, the stats and compare tables.
- `demo.models`: the model menu: each model's state, the current model, switching (download with
  progress, the previous model freed).
- `demo.runtime`: Stop flags, the progress bars (solves, downloads), the ZeroGPU wrapper, the
  warm-up at start.
- `demo.gpu_budget`: the GPU seconds each request asks ZeroGPU for.
- `demo.plots`: the matplotlib figures (condition previews, trajectories, spectrograms).
- `demo.examples`: the example inputs bundled in `assets/examples/` and the script that renders them.

`app.py` at the repository root builds the demo and launches it.
"""
