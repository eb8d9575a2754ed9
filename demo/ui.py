"""Layout of the demo page, its components, their events and the examples.

`build_demo(handlers)` returns a queued `gr.Blocks`: a model menu above three tabs.

- **Model menu**: the loaded model and every released one with its state (ready, downloads N GB
  on first use, unavailable: why); choosing one loads it with its download on the progress bar
  next to the menu (`/select_model`), and the model info, duration limits, guidance and solver
  defaults and conditions notes of every tab follow the new model (`handlers.PAGE_UPDATES`).

- **Generate**: prompt and conditions (with live previews) and the sampling settings on the left,
  the examples (clicking one fills the inputs and opens the files' section) and the bundled
  example outputs to listen to; audio players, the trajectory and spectrogram figures, the stats
  table, the downloads, the session's run history and "Load parameters JSON" on the right.
  Generate / Stop. Clips up to 120 s (windows of the model's length beyond it).
- **Edit** (`demo.edit_tab`): repaint a region of a clip or extend it.
- **Compare solvers**: the same kind of inputs, a choice of solver runs, and one audio player
  per run, a table and one figure.

Shared groups of controls (conditions with previews, guidance and solver) are built by
`demo.controls`; the page's CSS, scripts and run flow (outputs cleared at the start of a run, the
status line after an error or Stop) by `demo.page`. Every event has an `api_name`, and the API page
lists the ones meant for programs (`page.DOCUMENTED`); the ones that do the work are `/generate`,
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

from . import history as history_lib
from . import outputs as O
from . import page
from .components import CheckedCheckboxGroup, CheckedNumber, CheckedSlider, ModelDropdown, name_fields
from .controls import compare_cost, conditions, duration_slider, refresh_after, sampling_controls, weight_sliders
from .edit_tab import edit_tab
from .examples import load_examples
from .handlers import COMPARE_PARAMS, GENERATE_PARAMS, PAGE_UPDATES, DemoHandlers
from .inputs import COMPARE_PRESETS, DEFAULT_COMPARE_RUNS, MAX_COMPARE_RUNS, MAX_NFE_LIMIT, MAX_SAMPLE_PLAYERS, MAX_SEED

QUEUE_SIZE = 16          # waiting requests beyond this are refused with "queue full"
API_HELP = page.API_HELP


def launch_options() -> tp.Dict[str, tp.Any]:
    """Keyword arguments for `Blocks.launch` that belong to the page (theme, CSS, script, the files
    it may serve: the bundled examples)."""
    return {"theme": gr.themes.Soft(), "css": page.CSS, "js": page.page_script(), "allowed_paths": [EXAMPLES_DIR]}


def _files_section(component: gr.components.Component) -> tp.Optional[gr.Accordion]:
    """The accordion that holds a control (the drums and melody section), if any."""
    block = getattr(component, "parent", None)
    while block is not None and not isinstance(block, gr.Accordion):
        block = getattr(block, "parent", None)
    return block


def _examples(cond, label: str, api_name: str) -> None:
    """The bundled examples for a tab's conditions: a click fills prompt, chords, tempo, meter, drums
    and melody, and opens the drums and melody section when the example has a file."""
    examples = load_examples()
    if not examples:
        return
    chooser = gr.Examples([[e["text"], e["chords"], e["drums"], e["melody"], e["bpm"], e["meter"]] for e in examples],
                          inputs=[cond.text, cond.chords, cond.drums, cond.melody, cond.bpm, cond.meter],
                          example_labels=[e["label"] for e in examples], api_name=api_name, label=label)
    section = _files_section(cond.drums)
    if section is not None:
        chooser.load_input_event.then(lambda drums, melody: gr.update(open=True) if drums or melody else gr.skip(),
                                      inputs=[cond.drums, cond.melody], outputs=[section], **page.PRIVATE)


def _example_outputs() -> None:
    """The bundled example outputs, each a player with its prompt and conditions (no generation needed)."""
    examples = [e for e in load_examples() if e.get("output")]
    if not examples:
        return
    with gr.Accordion(f"Listen to the examples ({len(examples)} clips made by the embedded model)", open=True,
                      elem_id="example-outputs"):
        for k in range(0, len(examples), 2):
            with gr.Row():
                for e in examples[k:k + 2]:
                    with gr.Column(min_width=260, elem_classes="example-output"):
                        gr.Audio(e["output"], label=e["label"], type="filepath", interactive=False,
                                 elem_id=f"example-output-{examples.index(e) + 1}")
                        files = ", ".join(n for n, f in (("drums", e["drums"]), ("melody", e["melody"])) if f)
                        gr.Markdown(f"\u201c{e['text']}\u201d \u00b7 chords `{e['chords']}`"
                                    + (f" \u00b7 with {files}" if files else ""), elem_classes="preview-note")


def _generate_tab(h: DemoHandlers, model: gr.Dropdown) -> tp.Dict[str, tp.Any]:
    d = h.defaults
    with gr.Row():
        with gr.Column(scale=5, min_width=380):
            duration = duration_slider(d, "duration")
            cond = conditions(h, duration, "", open_files=False)
            duration.render()  # a row of its own: a 120 s range needs the width
            with gr.Row(equal_height=True):
                num_samples = CheckedSlider(1, MAX_SAMPLE_PLAYERS, value=d.num_samples, step=1, label="Samples",
                                            min_width=120, elem_id="num_samples")
                seed = CheckedNumber(label="Seed", value=d.seed, precision=0, minimum=0, maximum=MAX_SEED,
                                     min_width=140, elem_id="seed", elem_classes=page.WHOLE)
                random_seed = gr.Checkbox(label="Random seed", value=d.random_seed, min_width=100,
                                          info="the seed used is shown here after a run", elem_id="random_seed")
            sampling = sampling_controls(h, "", duration=duration, samples=num_samples)
            with gr.Row():
                adherence = gr.Checkbox(label="Adherence scores", value=d.adherence, elem_id="adherence",
                                        info="how well each sample follows the chords, melody and drums (~1 s each)")
                normalize = gr.Checkbox(label="Normalise loudness (-14 LUFS)", value=True, elem_id="normalize",
                                        info="true peak at most -1 dBFS; off: the model's raw level")
            with gr.Row():
                run = gr.Button("Generate", variant="primary", elem_id="generate-btn", scale=3)
                stop = gr.Button("Stop", variant="stop", elem_id="stop-btn", scale=1)
            _examples(cond, "Examples (rendered by this project; click one, then Generate)", "load_generate_example")
            _example_outputs()
        with gr.Column(scale=6, min_width=320):
            status = gr.Markdown("Set a prompt and press **Generate**.", label="Status", elem_id="status",
                                 elem_classes="status-line")
            players = [gr.Audio(label=f"Sample {k + 1} \u00b7 {d.sample_rate} Hz", type="filepath", interactive=False,
                                visible=k == 0, elem_id=f"audio-{k + 1}") for k in range(MAX_SAMPLE_PLAYERS)]
            trajectory = gr.Plot(label="Trajectory plot", show_label=False, elem_id="trajectory-plot")
            spectrogram = gr.Plot(label="Spectrogram", show_label=False, elem_id="spectrogram-plot")
            stats = gr.Dataframe(headers=O.STATS_HEADERS, label="Stats", interactive=False, wrap=True,
                                 column_widths=O.STATS_WIDTHS, max_height=1000, elem_id="stats")
            downloads = gr.File(label="Downloads", file_count="multiple", interactive=False, elem_id="downloads")
            with gr.Accordion("History of this session and replaying a run", open=True):
                history = gr.State([])
                history_view = gr.HTML(history_lib.EMPTY, elem_id="history")
                load_file = gr.File(label="Load parameters JSON (fills the controls to replay a run)",
                                    file_types=[".json"], type="filepath", elem_id="load-params")
                load_note = gr.Markdown(elem_classes="preview-note", elem_id="load-note")
            with gr.Accordion("Use from Python", open=False):
                gr.Markdown(API_HELP, elem_id="api-help")

    controls = dict(text=cond.text, chords=cond.chords, drums=cond.drums, melody=cond.melody, duration=duration,
                    bpm=cond.bpm, meter=cond.meter, **sampling, seed=seed, random_seed=random_seed,
                    num_samples=num_samples, model=model, adherence=adherence, normalize=normalize)
    name_fields(controls)
    controls.update(note=cond.note, last_output=players[0])
    names = [f"Sample {k + 1}" for k in range(MAX_SAMPLE_PLAYERS)]
    event = page.run_flow(run, stop, h.cancel, h.generate, h.stop, inputs=[controls[n] for n in GENERATE_PARAMS],
                          players=players, others=[trajectory, spectrogram, stats, downloads, seed], keep=[seed],
                          status=status, name_players=lambda *paths: O.player_updates(paths, names),
                          api_name="generate", stop_api_name="stop_generate", concurrency_id="model",
                          concurrency_limit=1, show_progress_on=[status, players[0]])
    event.success(history_lib.record, inputs=[history, downloads], outputs=[history, history_view], **page.PRIVATE)
    refresh_after(sampling["cost"], event)           # the run measured this server's speed
    loaded = [n for n in GENERATE_PARAMS if n in controls]

    def load(file):
        return history_lib.load_parameters(file, loaded, [value for _, value in h.models.menu()])

    load_file.upload(load, inputs=[load_file], outputs=[*(controls[n] for n in loaded), load_note],
                     api_name="load_parameters", queue=False, show_progress="hidden")
    return controls


def _compare_names(table, *paths) -> tp.List[dict]:
    """The Compare players' labels from the table: 'Euler 4 · 4 NFE' for each finished run."""
    rows = table.values.tolist() if hasattr(table, "values") else (table or {}).get("data", table) or []
    names = [f"{row[0]} \u00b7 {row[1]} NFE" for row in rows if not str(row[1]).startswith(">")]
    return O.player_updates(paths, names)


def _compare_tab(h: DemoHandlers, model: gr.Dropdown, generate: tp.Dict[str, tp.Any]) -> tp.Dict[str, tp.Any]:
    d = h.defaults
    with gr.Row():
        with gr.Column(scale=5, min_width=380):
            gr.Markdown("Same prompt, conditions and seed, several solvers, run one after another. **RMSE**: the "
                        "error of each run's final latents against the tightest run (the adaptive run with the "
                        "smallest tolerance, else the run with the most evaluations); **seconds**: its solve.")
            copy = gr.Button("Copy prompt, conditions and seed from the Generate tab", size="sm")
            duration = duration_slider(d, "cmp-duration")
            cond = conditions(h, duration, "cmp-", open_files=False)
            duration.render()
            with gr.Row(equal_height=True):
                seed = CheckedNumber(label="Seed", value=d.seed, precision=0, minimum=0, maximum=MAX_SEED,
                                     elem_id="cmp-seed", elem_classes=page.WHOLE)
                w_all, w_text = weight_sliders(d, "cmp-", w_text="null = 1 \u2212 all \u2212 text")
            runs = CheckedCheckboxGroup(list(COMPARE_PRESETS), value=DEFAULT_COMPARE_RUNS, label="Runs",
                                        info="tolerances of dopri5 presets set both rtol and atol")
            with gr.Row():
                extra_runs = gr.Textbox(label="More runs", value="", elem_id="cmp-extra-runs",
                                        placeholder="rk4:8, midpoint:5/sway=-1, bosh3:1e-4",
                                        info="'method:steps' (fixed-step, optionally on a time grid: "
                                             "'midpoint:5/sway=-1') or 'method:tolerance' (adaptive)", scale=3)
                max_nfe = CheckedNumber(label="NFE cap per run", value=d.max_nfe, precision=0, minimum=1,
                                        maximum=MAX_NFE_LIMIT, step=1, scale=1, elem_id="cmp-max_nfe",
                                        elem_classes=page.WHOLE)
            runs_note = gr.Markdown(elem_classes="preview-note", elem_id="cmp-runs-note")
            cost = compare_cost(h, runs, extra_runs, max_nfe, duration, w_all, w_text)
            with gr.Row():
                run = gr.Button("Compare", variant="primary", elem_id="compare-btn", scale=3)
                stop = gr.Button("Stop", variant="stop", elem_id="cmp-stop-btn", scale=1)
            _examples(cond, "Examples", "load_compare_example")
        with gr.Column(scale=6, min_width=320):
            status = gr.Markdown("Choose the runs and press **Compare**.", label="Status", elem_id="cmp-status",
                                 elem_classes="status-line")
            table = gr.Dataframe(headers=O.COMPARE_HEADERS, label="Runs", interactive=False, wrap=True,
                                 column_widths=O.COMPARE_WIDTHS, max_height=1000, elem_id="compare-table")
            figure = gr.Plot(label="Comparison plot", show_label=False, elem_id="compare-plot")
            players = []
            for k in range(0, MAX_COMPARE_RUNS, 2):
                with gr.Row():
                    for j in (k, k + 1):
                        players.append(gr.Audio(label=f"Run {j + 1}", type="filepath", interactive=False,
                                                visible=j == 0, elem_id=f"cmp-audio-{j + 1}", min_width=160))

    controls = dict(text=cond.text, chords=cond.chords, drums=cond.drums, melody=cond.melody, duration=duration,
                    bpm=cond.bpm, meter=cond.meter, w_all=w_all, w_text=w_text, seed=seed, runs=runs,
                    extra_runs=extra_runs, max_nfe=max_nfe, model=model)
    name_fields(controls)
    controls["note"] = cond.note
    compared = page.run_flow(run, stop, h.cancel, h.compare, h.stop, inputs=[controls[name] for name in COMPARE_PARAMS],
                  players=players, others=[table, figure], status=status, name_players=_compare_names,
                  player_inputs=[table], api_name="compare", stop_api_name="stop_compare", concurrency_id="model",
                  concurrency_limit=1, show_progress_on=[status, table])
    refresh_after(cost, compared)
    controls["cost"] = cost
    gr.on([extra_runs.change, runs.change, max_nfe.change], h.preview_runs, inputs=[runs, extra_runs, max_nfe],
          outputs=[runs_note], api_name="preview_runs", queue=False, show_progress="hidden", trigger_mode="always_last")
    shared = ["text", "chords", "drums", "melody", "duration", "bpm", "meter", "w_all", "w_text", "seed"]
    copy.click(h.copy_settings, inputs=[generate[k] for k in shared], outputs=[controls[k] for k in shared],
               api_name="copy_settings", queue=False)
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
            model = ModelDropdown(h.models.menu(), value=h.default_model, label="Model", scale=2, min_width=280,
                                  elem_id="model", info=h.models.menu_info())
            with gr.Column(scale=5):
                info = gr.Markdown(h.model_info(), elem_id="model-info")
                unavailable = h.unavailable_info()
                if unavailable:
                    with gr.Accordion(f"Unavailable models ({unavailable.count(chr(10)) + 1})", open=False,
                                      elem_id="unavailable-models"):
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
        for tab in (generate, compare, edit):       # a visitor after the warm-up sees measured costs
            refresh_after(tab["cost"], demo.load)
    page.document_only(demo)
    demo.queue(default_concurrency_limit=1, max_size=QUEUE_SIZE)
    return demo
