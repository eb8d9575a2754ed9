"""Layout of the demo page, its components, their events and the examples.

`build_demo(handlers)` returns a queued `gr.Blocks`: a model menu above two tabs.

- **Model menu**: the loaded model and every released one with its state (ready, downloads N GB
  on first use, unavailable: why); choosing one loads it with its download on the progress bar
  next to the menu (`/select_model`), and the model info, duration sliders and conditions notes
  follow the new model.

- **Generate**: prompt and conditions (with live previews) and the sampling settings on the left;
  audio players, the trajectory and spectrogram figures, the stats table and the downloads on the
  right. Generate / Stop.
- **Compare solvers**: the same kind of inputs, a choice of solver runs, and one audio player
  per run, a table and one figure.

Every event has an `api_name`; the two that do the work are `/generate` and `/compare`, and all
their inputs have defaults, so `client.predict(text="...", api_name="/generate")` works. They
and the model switch share one concurrency slot (one solve or switch at a time, as the model is
shared); previews have their own slots and the small UI updates skip the queue, so neither a long
generation nor a download freezes the page.
"""
from __future__ import annotations

import typing as tp

import gradio as gr

from jasco_core.paths import EXAMPLES_DIR
from jasco_core.solvers import FIXED_STEP_METHODS, METHODS

from .components import CheckedCheckboxGroup, CheckedDropdown, CheckedNumber, CheckedSlider, name_fields
from .examples import load_examples
from .handlers import COMPARE_PARAMS, GENERATE_PARAMS, DemoHandlers
from .inputs import (COMPARE_PRESETS, DEFAULT_COMPARE_RUNS, LOG10_TOL_RANGE, MAX_COMPARE_RUNS, MAX_NFE_LIMIT,
                     MAX_SAMPLE_PLAYERS, MAX_SEED, MIN_DURATION)
from .outputs import COMPARE_HEADERS, STATS_HEADERS

QUEUE_SIZE = 16          # waiting requests beyond this are refused with "queue full"
PREVIEW_CONCURRENCY = 2  # live previews running at once

CHORDS_HELP = ("'C:0 Am:2.5 F:5 G:7.5' (chord:start seconds), 'C@0 F@2', '| C | Am | F G |' (bars at the tempo "
               "below) or '[(C, 0.0), (F, 2.0)]'. Harte labels with ':' take '@': 'A:min@0'.")
MELODY_TYPES = [".wav", ".flac", ".ogg", ".mp3", ".mid", ".midi", ".npy", ".pt", ".th"]

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
Every control of this tab is a parameter of `/generate` with the page's default; `/compare` takes
`runs=["Euler 4", "dopri5 1e-5"]` and `extra_runs="rk4:8"`. See "Use via API" at the bottom of the page.
"""


def launch_options() -> tp.Dict[str, tp.Any]:
    """Keyword arguments for `Blocks.launch` that belong to the page (theme, CSS, example files)."""
    return {"theme": gr.themes.Soft(), "css": CSS, "allowed_paths": [EXAMPLES_DIR]}


class _Conditions(tp.NamedTuple):
    text: gr.Textbox
    chords: gr.Textbox
    bpm: gr.Number
    meter: gr.Dropdown
    drums: gr.Audio
    melody: gr.File
    note: gr.Markdown  # what the current model ignores


def _conditions(h: DemoHandlers, duration: gr.Slider, prefix: str, open_files: bool) -> _Conditions:
    """Prompt, chords (with a live timeline), drums and melody (with previews) for one tab."""
    d = h.defaults
    text = gr.Textbox(label="Prompt", lines=2, value=d.text, elem_id=f"{prefix}prompt",
                      placeholder="e.g. mellow jazz piano with brushed drums, slow tempo")
    with gr.Row(equal_height=True):
        chords = gr.Textbox(label="Chord progression", value=d.chords, scale=5, elem_id=f"{prefix}chords",
                            placeholder="C:0 Am:2.5 F:5 G:7.5", info=CHORDS_HELP)
        bpm = CheckedNumber(label="Tempo (BPM)", value=d.bpm, minimum=20, maximum=400, scale=1, min_width=90,
                            info="for bars")
        meter = CheckedDropdown(label="Meter", choices=["4/4", "3/4", "6/8", "2/4", "5/4", "7/8"], value=d.meter,
                                allow_custom_value=True, scale=1, min_width=110, info="for bars")
    chord_plot = gr.Plot(label="Chord timeline", show_label=False, visible=False, elem_id=f"{prefix}chord-plot")
    chord_note = gr.Markdown(elem_classes="preview-note")
    with gr.Accordion("Drums and melody (optional)", open=open_files):
        with gr.Row():
            drums = gr.Audio(label="Drums: upload a loop or record one", sources=["upload", "microphone"],
                             type="filepath", elem_id=f"{prefix}drums")
            melody = gr.File(label="Melody: audio, MIDI (.mid) or salience (.npy/.pt [53, T])",
                             file_types=MELODY_TYPES, type="filepath", elem_id=f"{prefix}melody")
        with gr.Row():
            with gr.Column(min_width=200):
                drums_plot = gr.Plot(label="Drums preview", show_label=False, visible=False)
                drums_note = gr.Markdown(elem_classes="preview-note")
            with gr.Column(min_width=200):
                melody_plot = gr.Plot(label="Melody preview", show_label=False, visible=False)
                melody_note = gr.Markdown(elem_classes="preview-note")
        note = gr.Markdown(h.conditions_note(), elem_id=f"{prefix}conditions-note")

    preview = dict(queue=True, concurrency_id="preview", concurrency_limit=PREVIEW_CONCURRENCY,
                   show_progress="hidden", trigger_mode="always_last")
    gr.on([chords.change, duration.change, bpm.change, meter.change], h.preview_chords,
          inputs=[chords, duration, bpm, meter], outputs=[chord_plot, chord_note],
          api_name=f"{prefix}preview_chords", **preview)
    gr.on([drums.change, duration.change], h.preview_drums, inputs=[drums, duration],
          outputs=[drums_plot, drums_note], api_name=f"{prefix}preview_drums", **preview)
    gr.on([melody.change, duration.change], h.preview_melody, inputs=[melody, duration],
          outputs=[melody_plot, melody_note], api_name=f"{prefix}preview_melody", **preview)
    return _Conditions(text, chords, bpm, meter, drums, melody, note)


def _duration(h: DemoHandlers, elem_id: str) -> CheckedSlider:
    d = h.defaults
    return CheckedSlider(MIN_DURATION, max(d.max_duration, MIN_DURATION + 0.5), value=d.duration, step=0.5,
                         label="Duration (s)", interactive=d.duration_adjustable, elem_id=elem_id, render=False,
                         min_width=160,
                         info=None if d.duration_adjustable else "this model makes clips of a fixed length")


def _generate_tab(h: DemoHandlers, model: gr.Dropdown) -> tp.Dict[str, tp.Any]:
    d = h.defaults
    with gr.Row():
        with gr.Column(scale=5, min_width=380):
            duration = _duration(h, "duration")
            cond = _conditions(h, duration, "", open_files=False)
            with gr.Row(equal_height=True):
                duration.render()
                num_samples = CheckedSlider(1, MAX_SAMPLE_PLAYERS, value=d.num_samples, step=1, label="Samples",
                                            min_width=120)
                seed = CheckedNumber(label="Seed", value=d.seed, precision=0, minimum=0, maximum=MAX_SEED,
                                     min_width=140, elem_id="seed")
                random_seed = gr.Checkbox(label="Random seed", value=d.random_seed, min_width=100,
                                          info="the seed used is shown here after a run")
            with gr.Accordion("Guidance", open=False):
                gr.Markdown("v = w_all \u00b7 v(all conditions) + w_text \u00b7 v(text only) + w_null \u00b7 v(nothing)")
                with gr.Row():
                    w_all = CheckedSlider(0, max(10.0, d.w_all), value=d.w_all, step=0.25, label="w_all",
                                          info="pull towards every condition")
                    w_text = CheckedSlider(min(-10.0, d.w_text), max(10.0, d.w_text), value=d.w_text, step=0.25,
                                           label="w_text",
                                           info="pull towards the prompt alone; negative: follow chords, melody and drums harder")
                with gr.Row():
                    null_auto = gr.Checkbox(label="null = 1 \u2212 all \u2212 text", value=d.null_auto)
                    w_null = CheckedSlider(-20, 5, value=d.w_null, step=0.25, label="w_null",
                                           interactive=not d.null_auto)
            with gr.Accordion("Solver", open=False):
                fixed = d.solver in FIXED_STEP_METHODS
                with gr.Row():
                    solver = CheckedDropdown(list(METHODS), value=d.solver, label="Method",
                                             info="euler/midpoint/rk4: fixed steps; dopri5/bosh3/adaptive_heun: adaptive")
                    max_nfe = CheckedNumber(label="NFE cap", value=d.max_nfe, precision=0, minimum=1,
                                            maximum=MAX_NFE_LIMIT, info="stop a solve after this many evaluations")
                steps = CheckedSlider(1, 200, value=max(1, min(d.steps, 200)), step=1, label="Steps", visible=fixed)
                with gr.Row():
                    lo, hi = LOG10_TOL_RANGE
                    log10_rtol = CheckedSlider(lo, hi, value=d.log10_rtol, step=0.5, label="rtol = 10^x",
                                               visible=not fixed, info="smaller: more accurate, more NFE")
                    log10_atol = CheckedSlider(lo, hi, value=d.log10_atol, step=0.5, label="atol = 10^x",
                                               visible=not fixed)
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
                    bpm=cond.bpm, meter=cond.meter, w_all=w_all, w_text=w_text, null_auto=null_auto, w_null=w_null,
                    solver=solver, steps=steps, log10_rtol=log10_rtol, log10_atol=log10_atol, max_nfe=max_nfe,
                    seed=seed, random_seed=random_seed, num_samples=num_samples, model=model, adherence=adherence)
    name_fields(controls)
    controls["note"] = cond.note
    event = run.click(h.generate, inputs=[controls[name] for name in GENERATE_PARAMS],
                      outputs=[*players, trajectory, spectrogram, stats, downloads, seed, status],
                      api_name="generate", concurrency_id="model", concurrency_limit=1,
                      show_progress_on=[status, players[0]])
    stop.click(h.stop, outputs=[status], cancels=[event], api_name="stop_generate", queue=False)
    gr.on([w_all.change, w_text.change, null_auto.change], h.null_weight, inputs=[w_all, w_text, null_auto],
          outputs=[w_null], api_name="null_weight", api_visibility="undocumented", queue=False,
          show_progress="hidden")
    solver.change(h.solver_controls, inputs=[solver], outputs=[steps, log10_rtol, log10_atol],
                  api_name="solver_controls", api_visibility="undocumented", queue=False, show_progress="hidden")
    return controls


def _compare_tab(h: DemoHandlers, model: gr.Dropdown, generate: tp.Dict[str, tp.Any]) -> tp.Dict[str, tp.Any]:
    d = h.defaults
    with gr.Row():
        with gr.Column(scale=5, min_width=380):
            gr.Markdown("Same prompt, conditions and seed, several solvers, run one after another. The error "
                        "of each run is the RMSE of its final latents against the tightest run (the adaptive "
                        "run with the smallest tolerance, else the run with the most evaluations).")
            copy = gr.Button("Copy prompt, conditions and seed from the Generate tab", size="sm")
            duration = _duration(h, "cmp-duration")
            cond = _conditions(h, duration, "cmp-", open_files=False)
            with gr.Row(equal_height=True):
                duration.render()
                seed = CheckedNumber(label="Seed", value=d.seed, precision=0, minimum=0, maximum=MAX_SEED)
                w_all = CheckedSlider(0, max(10.0, d.w_all), value=d.w_all, step=0.25, label="w_all")
                w_text = CheckedSlider(min(-10.0, d.w_text), max(10.0, d.w_text), value=d.w_text, step=0.25,
                                       label="w_text", info="null = 1 \u2212 all \u2212 text")
            runs = CheckedCheckboxGroup(list(COMPARE_PRESETS), value=DEFAULT_COMPARE_RUNS, label="Runs",
                                        info="tolerances of dopri5 presets set both rtol and atol")
            with gr.Row():
                extra_runs = gr.Textbox(label="More runs", value="", placeholder="rk4:8, bosh3:1e-4, adaptive_heun:1e-3",
                                        info="'method:steps' (fixed-step) or 'method:tolerance' (adaptive)", scale=3)
                max_nfe = CheckedNumber(label="NFE cap per run", value=d.max_nfe, precision=0, minimum=1,
                                        maximum=MAX_NFE_LIMIT, scale=1)
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
                    "a drum loop and a melody. Generate on the first tab; compare ODE solvers on the second.",
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
            with gr.Tab("Compare solvers", id="compare"):
                compare = _compare_tab(h, model, generate)
        # a switch (maybe a download) waits for the solve in progress and vice versa: one model at a
        # time; the previews and small updates have their own slots, so the page stays responsive
        model.input(h.select_model, inputs=[model],
                    outputs=[model, info, generate["duration"], compare["duration"], generate["note"], compare["note"]],
                    api_name="select_model", concurrency_id="model", concurrency_limit=1, show_progress_on=[info])
    demo.queue(default_concurrency_limit=1, max_size=QUEUE_SIZE)
    return demo
