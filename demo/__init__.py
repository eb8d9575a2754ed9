"""The Gradio web demo of `jasco_core`.

- `demo.ui`: the page's layout and event wiring (`build_demo`, `launch_options`): the model menu,
  the Generate and Compare tabs; `demo.edit_tab`: the Edit tab's; `demo.controls`: the groups of
  controls several tabs share (conditions with previews, duration, guidance and solver).
- `demo.components`: Gradio components whose own checks name the field at fault (`Checked*`).
- `demo.handlers`: one thin method per event (`DemoHandlers`): inputs -> library call -> outputs;
  what follows the model on a switch (`PAGE_UPDATES`). `demo.edit`: the Edit tab's events
  (`/repaint`, `/extend`).
- `demo.inputs`: UI values -> typed values (guidance, solvers, Compare runs), field labels and errors,
  the controls' defaults from the pipeline.
- `demo.outputs`: download folders, WAV and JSON records, the stats and compare tables.
- `demo.models`: the model menu: each model's state, the current model, switching (download with
  progress, the previous model freed).
- `demo.runtime`: Stop flags, the progress bars (solves across windows, downloads), the ZeroGPU
  wrapper, the warm-up at start.
- `demo.gpu_budget`: the GPU seconds each request asks ZeroGPU for.
- `demo.plots`: the figures of conditions and audio (previews, spectrograms, before/after of an
  edit); `demo.solve_plots`: the figures of solves (trajectories of one window or of every window
  of a long clip, solver comparisons).
- `demo.examples`: the example inputs bundled in `assets/examples/` and the script that renders them.

`app.py` at the repository root builds the demo and launches it.
"""
