"""Layout of the demo page, its components, their events and the examples.

`build_demo(handlers)` returns a queued `gr.Blocks`: a model menu above three tabs.

- **Model menu**: the loaded model and every released one with its state (ready, downloads N GB
  on first use, unavailable: why); choosing one loads it with its download on the progress bar
  next to the menu (`/select_model`), and the model info, duration limits, guidance and solver
  defaults and conditions notes of every tab follow the new model (`handlers.PAGE_UPDATES`).

- **Generate**: prompt and conditions (with live previews) and the sampling settings on the left;
  audio players, the trajectory and spectrogram figures, the stats table and the downloads on the
  right. Generate / Stop. Clips up to 120 s (windows of the model's length beyond it).
- **Edit** (`demo.edit_tab`): repaint a region of a clip or extend it.
- **Compare solvers**: the same kind of inputs, a choice of solver runs, and one audio player
  per run, a table and one figure.

Shared groups of controls (conditions with previews, guidance and solver) are built by
`demo.controls`. Every event has an `api_name`; the ones that do the work are `/generate`,
`/repaint`, `/extend` and `/compare`, and all their inputs have defaults (but the clip and region
of an edit), so `client.predict(text="...", api_name="/generate")` works. They and the model
switch share one concurrency slot (one solve or switch at a time, as the model is shared);
previews have their own slots and the small UI updates skip the queue, so neither a long
generation nor a download freezes the page.
"""
from __future__ import annotations

import typing as tp

import gradio as gr

from jasco_core.paths import EXAMPLES_DIR

from .components import CheckedCheckboxGroup, CheckedDropdown, CheckedNumber, CheckedSlider, name_fields
from .controls import conditions, duration_slider, sampling_controls, weight_sliders
from .edit_tab import edit_tab
from .examples import load_examples
from .handlers import COMPARE_PARAMS, GENERATE_PARAMS, PAGE_UPDATES, DemoHandlers
from .inputs import COMPARE_PRESETS, DEFAULT_COMPARE_RUNS, MAX_COMPARE_RUNS, MAX_NFE_LIMIT, MAX_SAMPLE_PLAYERS, MAX_SEED
from .outputs import COMPARE_HEADERS, STATS_HEADERS

QUEUE_SIZE = 16          # waiting requests beyond this are refused with "queue full"

CSS = """
#title h1 {margin-bottom: 0}
.preview-note p {font-size: 0.85em; margin: 0}
"""

API_HELP = """
```python
from gradio_client import Client
client = Client("http://127.0.0.1:7860/")
out = client.predict(text="mellow jazz piano with brushed drums", chords="C:0 Am:2.5 F:5 G:7.5",
                     api_name="/generate")
*wavs, parameters_json = out[-3]   # downloads; out[-2]: seed used, out[-1]: status
```
Every control of this tab is a parameter of `/generate` with the page's default (`duration` up to
120 s); `/repaint` takes `audio=handle_file(path), start=..., end=...`, `/extend` takes
`audio=..., seconds=...`; `/compare` takes `runs=["Euler 4", "dopri5 1e-5"]` and `extra_runs="rk4:8"`.
See "Use via API" at the bottom of the page.
"""


def launch_options() -> tp.Dict[str, tp.Any]:
    """Keyword arguments for `Blocks.launch` that belong to the page (theme, CSS, example files)."""
    return {"theme": gr.themes.Soft(), "css": CSS, "allowed_paths": [EXAMPLES_DIR]}


def _generate_tab(h: DemoHandlers, model: gr.Dropdown) -> tp.Dict[str, tp.Any]:
    d = h.defaults
    with gr.Row():
        with gr.Column(scale=5, min_width=380):
            duration = duration_slider(d, "duration")
            cond = conditions(h, duration, "", open_files=False)
            duration.render()  # a row of its own: a 120 s range needs the width
            with gr.Row(equal_height=True):
                num_samples = CheckedSlider(1, MAX_SAMPLE_PLAYERS, value=d.num_samples, step=1, label="Samples",
                                            min_width=120)
                seed = CheckedNumber(label="Seed", value=d.seed, precision=0, minimum=0, maximum=MAX_SEED,
                                     min_width=140, elem_id="seed")
                random_seed = gr.Checkbox(label="Random seed", value=d.random_seed, min_width=100,
                                          info="the seed used is shown here after a run")
            sampling = sampling_controls(h, "")
            adherence = gr.Checkbox(label="Adherence scores", value=d.adherence,
                                    info="measure how well each sample follows the chords, melody and drums (~1 s each)")
            with gr.Row():
                run = gr.Button("Generate", variant="primary", elem_id="generate-btn", scale=3)
                stop = gr.Button("Stop", variant="stop", elem_id="stop-btn", scale=1)
            examples = load_examples()
            if examples:
                gr.Examples([[e["text"], e["chords"], e["drums"], e["melody"], e["bpm"], e["meter"]] for e in examples],
                            inputs=[cond.text, cond.chords, cond.drums, cond.melody, cond.bpm, cond.meter],
                            example_labels=[e["label"] for e in examples], api_name="load_generate_example",
                            label="Examples (rendered by this project; click one, then Generate)")
        with gr.Column(scale=6, min_width=420):
            status = gr.Markdown("Set a prompt and press **Generate**.", elem_id="status")
            players = []
            for k in range(MAX_SAMPLE_PLAYERS):
                players.append(gr.Audio(label=f"Sample {k + 1} \u00b7 {d.sample_rate} Hz", type="filepath",
                                        interactive=False, visible=k == 0, elem_id=f"audio-{k + 1}"))
            trajectory = gr.Plot(label="Latent trajectory, step size and NFE", show_label=False,
                                 elem_id="trajectory-plot")
            spectrogram = gr.Plot(label="Spectrogram", show_label=False, elem_id="spectrogram-plot")
            stats = gr.Dataframe(headers=STATS_HEADERS, label="Stats", interactive=False, wrap=True,
                                 max_height=1000, elem_id="stats")
            downloads = gr.File(label="Downloads: WAV and parameters JSON", file_count="multiple",
                                interactive=False, elem_id="downloads")
            with gr.Accordion("Use from Python", open=False):
                gr.Markdown(API_HELP)

    controls = dict(text=cond.text, chords=cond.chords, drums=cond.drums, melody=cond.melody, duration=duration,
                    bpm=cond.bpm, meter=cond.meter, **sampling, seed=seed, random_seed=random_seed,
                    num_samples=num_samples, model=model, adherence=adherence)
    name_fields(controls)
    controls.update(note=cond.note, last_output=players[0])
    event = run.click(h.generate, inputs=[controls[name] for name in GENERATE_PARAMS],
                      outputs=[*players, trajectory, spectrogram, stats, downloads, seed, status],
                      api_name="generate", concurrency_id="model", concurrency_limit=1,
                      show_progress_on=[status, players[0]])
    stop.click(h.stop, outputs=[status], cancels=[event], api_name="stop_generate", queue=False)
    return controls


def _compare_tab(h: DemoHandlers, model: gr.Dropdown, generate: tp.Dict[str, tp.Any]) -> tp.Dict[str, tp.Any]:
    d = h.defaults
    with gr.Row():
        with gr.Column(scale=5, min_width=380):
            gr.Markdown("Same prompt, conditions and seed, several solvers, run one after another. The error "
                        "of each run is the RMSE of its final latents against the tightest run (the adaptive "
                        "run with the smallest tolerance, else the run with the most evaluations).")
            copy = gr.Button("Copy prompt, conditions and seed from the Generate tab", size="sm")
            duration = duration_slider(d, "cmp-duration")
            cond = conditions(h, duration, "cmp-", open_files=False)
            duration.render()
            with gr.Row(equal_height=True):
                seed = CheckedNumber(label="Seed", value=d.seed, precision=0, minimum=0, maximum=MAX_SEED)
                w_all, w_text = weight_sliders(d, "cmp-", w_text="null = 1 \u2212 all \u2212 text")
            runs = CheckedCheckboxGroup(list(COMPARE_PRESETS), value=DEFAULT_COMPARE_RUNS, label="Runs",
                                        info="tolerances of dopri5 presets set both rtol and atol")
            with gr.Row():
                extra_runs = gr.Textbox(label="More runs", value="", placeholder="rk4:8, bosh3:1e-4, adaptive_heun:1e-3",
                                        info="'method:steps' (fixed-step) or 'method:tolerance' (adaptive)", scale=3)
                max_nfe = CheckedNumber(label="NFE cap per run", value=d.max_nfe, precision=0, minimum=1,
                                        maximum=MAX_NFE_LIMIT, scale=1, elem_id="cmp-max_nfe")
            with gr.Row():
                run = gr.Button("Compare", variant="primary", elem_id="compare-btn", scale=3)
                stop = gr.Button("Stop", variant="stop", elem_id="cmp-stop-btn", scale=1)
            examples = load_examples()
            if examples:
                gr.Examples([[e["text"], e["chords"], e["bpm"], e["meter"]] for e in examples],
                            inputs=[cond.text, cond.chords, cond.bpm, cond.meter],
                            example_labels=[e["label"] for e in examples], api_name="load_compare_example")
        with gr.Column(scale=6, min_width=420):
            status = gr.Markdown("Choose the runs and press **Compare**.", elem_id="cmp-status")
            table = gr.Dataframe(headers=COMPARE_HEADERS, label="Runs", interactive=False, wrap=True,
                                 max_height=1000, elem_id="compare-table")
            figure = gr.Plot(label="Trajectories and error against NFE", show_label=False, elem_id="compare-plot")
            players = []
            for k in range(0, MAX_COMPARE_RUNS, 2):
                with gr.Row():
                    for j in (k, k + 1):
                        players.append(gr.Audio(label=f"Run {j + 1}", type="filepath", interactive=False,
                                                visible=j == 0, elem_id=f"cmp-audio-{j + 1}"))

    controls = dict(text=cond.text, chords=cond.chords, drums=cond.drums, melody=cond.melody, duration=duration,
                    bpm=cond.bpm, meter=cond.meter, w_all=w_all, w_text=w_text, seed=seed, runs=runs,
                    extra_runs=extra_runs, max_nfe=max_nfe, model=model)
    name_fields(controls)
    controls["note"] = cond.note
    event = run.click(h.compare, inputs=[controls[name] for name in COMPARE_PARAMS],
                      outputs=[*players, table, figure, status], api_name="compare", concurrency_id="model",
                      concurrency_limit=1, show_progress_on=[status, table])
    stop.click(h.stop, outputs=[status], cancels=[event], api_name="stop_compare", queue=False)
    shared = ["text", "chords", "drums", "melody", "duration", "bpm", "meter", "w_all", "w_text", "seed"]
    copy.click(h.copy_settings, inputs=[generate[k] for k in shared], outputs=[controls[k] for k in shared],
               api_name="copy_settings", api_visibility="undocumented", queue=False)
    return controls


def build_demo(handlers: DemoHandlers) -> gr.Blocks:
    """The whole page around `handlers` (whose model is already loaded), with its queue set up."""
    h = handlers
    with gr.Blocks(title="JASCO demo: text-to-music with chords, drums and melody",
                   delete_cache=(900, 3600)) as demo:
        gr.Markdown("# JASCO demo\nText-to-music by flow matching, steered by a prompt, a chord progression, "
                    "a drum loop and a melody. Generate on the first tab (up to two minutes), repaint or extend "
                    "a clip on the second; compare ODE solvers on the third.",
                    elem_id="title")
        with gr.Row(equal_height=True):
            model = CheckedDropdown(h.models.menu(), value=h.default_model, label="Model", scale=2, min_width=280,
                                    elem_id="model", info="released models download on first use")
            with gr.Column(scale=5):
                info = gr.Markdown(h.model_info(), elem_id="model-info")
                unavailable = h.unavailable_info()
                if unavailable:
                    with gr.Accordion(f"Unavailable models ({unavailable.count(chr(10)) + 1})", open=False):
                        gr.Markdown(unavailable)
        with gr.Tabs():
            with gr.Tab("Generate", id="generate"):
                generate = _generate_tab(h, model)
            with gr.Tab("Edit", id="edit"):
                edit = edit_tab(h, model, generate)
            with gr.Tab("Compare solvers", id="compare"):
                compare = _compare_tab(h, model, generate)
        # a switch (maybe a download) waits for the solve in progress and vice versa: one model at a
        # time; the previews and small updates have their own slots, so the page stays responsive.
        # What follows the model (limits, defaults, notes) is listed by `PAGE_UPDATES`.
        targets = {"model": model, "info": info}
        for tab, controls in (("generate", generate), ("compare", compare), ("edit", edit)):
            targets.update((f"{tab}.{name}", component) for name, component in controls.items())
        model.input(h.select_model, inputs=[model], outputs=[targets[name] for name in PAGE_UPDATES],
                    api_name="select_model", concurrency_id="model", concurrency_limit=1, show_progress_on=[info])
    demo.queue(default_concurrency_limit=1, max_size=QUEUE_SIZE)
    return demo
