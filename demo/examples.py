"""Example inputs of the demo, rendered by the project itself and bundled in `assets/examples/`.

Each example is a prompt, a chord progression and optionally a drum stem (WAV) and a melody
(MIDI), all taken from one seeded piece of the project's own renderer
(`jasco_core.training.render`), so they run offline and match what the embedded model was trained
on. `examples.json` lists them; regenerate the folder with

    python -m demo.examples
"""
from __future__ import annotations

import json
import os
import typing as tp

from jasco_core.paths import EXAMPLES_DIR

SAMPLE_RATE = 22050
DURATION = 10.0

# (seed of the rendered piece, use its drum stem, use its lead as the melody); seeds from the
# held-out range (training used seeds below 1,000,000), so the example outputs are not memorised
PIECES = ((1000201, True, True), (1000206, True, False), (1000207, False, True))
OUTPUT_SEED = 0  # generation seed of the bundled example outputs
# a text-only example in bar notation, to show that form of the chord box
BAR_EXAMPLE = {"label": "bar notation, no files", "text": "warm lo-fi piano with soft drums",
               "chords": "| C | Am | F | G |", "bpm": 96.0, "meter": "4/4", "drums": None, "melody": None}


def _chord_text(chords: tp.Sequence[tp.Tuple[str, float]]) -> str:
    """'Bmaj7:0 Bbm7:2.61 ...' ('@' before the time when the label itself contains ':')."""
    return " ".join(f"{label}{'@' if ':' in label else ':'}{round(start, 2):g}" for label, start in chords)


def render_examples(folder: str = EXAMPLES_DIR) -> tp.List[dict]:
    """Render every example into `folder` and write its `examples.json`; returns the entries."""
    import soundfile as sf

    from jasco_core.training.render import piece_to_midi, render_piece

    os.makedirs(folder, exist_ok=True)
    entries = []
    for seed, with_drums, with_melody in PIECES:
        piece = render_piece(seed, DURATION, SAMPLE_RATE)
        style = piece.meta["style"].replace(" ", "_")
        entry = {"label": f"{piece.meta['style']}, {piece.meta['tempo']} BPM", "text": piece.description,
                 "chords": _chord_text(piece.chords), "bpm": float(piece.meta["tempo"]),
                 "meter": f"{piece.spec.beats_per_bar}/4", "drums": None, "melody": None}
        if with_drums and piece.meta.get("has_drums"):
            name = f"{style}_{seed}_drums.wav"
            sf.write(os.path.join(folder, name), piece.drums, SAMPLE_RATE, subtype="PCM_16")
            entry["drums"] = name
        if with_melody:
            name = f"{style}_{seed}_melody.mid"
            piece_to_midi(piece.spec, ("lead",)).write(os.path.join(folder, name))
            entry["melody"] = name
        entries.append(entry)
    entries.append(dict(BAR_EXAMPLE))
    render_outputs(entries, folder)
    with open(os.path.join(folder, "examples.json"), "w") as f:
        json.dump(entries, f, indent=1)
    return entries


def render_outputs(entries: tp.List[dict], folder: str, model: str = "embedded") -> None:
    """Generate each example with the model (listen-test artefacts) as FLAC next to its inputs."""
    import soundfile as sf

    from jasco_core import load_pipeline

    pipe = load_pipeline(model, device="cpu")
    for i, entry in enumerate(entries):
        path = lambda key: os.path.join(folder, entry[key]) if entry.get(key) else None  # noqa: E731
        result = pipe.generate(entry["text"], chords=entry["chords"], drums=path("drums"), melody=path("melody"),
                               bpm=entry["bpm"], meter=entry["meter"], seed=OUTPUT_SEED, duration=DURATION)
        name = f"example_{i + 1}_output.flac"
        sf.write(os.path.join(folder, name), result.audio[0], result.sample_rate, format="FLAC")
        entry["output"] = name
        entry["output_settings"] = {"model": model, "seed": OUTPUT_SEED, **{
            k: result.parameters[k] for k in ("guidance", "solver", "duration")}}


def load_examples(folder: str = EXAMPLES_DIR) -> tp.List[dict]:
    """The bundled examples with absolute file paths; an empty list if the folder is missing."""
    path = os.path.join(folder, "examples.json")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        entries = json.load(f)
    for entry in entries:
        for key in ("drums", "melody", "output"):
            if entry.get(key):
                entry[key] = os.path.join(folder, entry[key])
    return entries


if __name__ == "__main__":
    for item in render_examples():
        print(f"{item['label']}: {item['text']!r} chords={item['chords']!r} drums={item['drums']} melody={item['melody']}")
