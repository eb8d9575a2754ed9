"""Pack rendered training pieces into one compact ``.npz`` file.

Each piece (see :mod:`jasco_core.training.render`) is stored as what the
model trains on, at the latent frame rate (50 frames/s, ``T`` frames):

====================  ======================  ==========================================
key                   shape, dtype            content
====================  ======================  ==========================================
``latents``           [N, T, 64] uint8        MelCodec latents, clipped to
                                              [latent_lo, latent_hi] and quantised to 256
                                              levels (:func:`dequantise_latents`); stored
                                              as ``latents_delta`` (see below)
``chords``            [N, T] int16            chord vocabulary index per frame; frame i
                                              takes the last chord starting at or before
                                              i / 50 s (null index before the first)
``melody``            [N, T] int8             MIDI pitch of the lead per frame, -1 = rest
``drums``             [N, T, 4] float16       ``drum_features`` of the drum stem, rounded
                                              to steps of 1/255 (zeros when the piece has
                                              no drums)
``descriptions``      [N] str                 text prompt of each piece
``seeds``             [N] int64               render seed of each piece
``meta_json``         [N] str                 JSON metadata, including the raw chord list
                                              ``(label, start)`` and melody notes
``codec_config_json`` scalar str              MelCodec config with its fitted statistics
``chord_labels``      [194] str               the vocabulary the chord indices refer to
====================  ======================  ==========================================

plus scalars ``latent_lo``, ``latent_hi``, ``sample_rate``, ``frame_rate``,
``duration`` and ``format_version``.  Text embeddings are not stored here.

Compactness: the arrays are written LZMA-compressed inside the zip
(``np.load`` reads them as usual), and the quantised latents are stored as
their frame-to-frame difference modulo 256 (``latents_delta``), which
compresses about 20 % better; :func:`load_dataset` undoes it and returns
``latents``.  Rounding the drum features to 1/255 steps halves their size
and changes them by at most 0.002.

The codec's normalisation statistics are fitted once, on the first
``stats_pieces`` pieces of the build (deterministic: they are fixed by the
seeds), unless a codec is passed in.  Held-out sets must reuse the training
set's codec, e.g.::

    python -m jasco_core.training.dataset --out data/train.npz --n 2000 --first-seed 0 --workers 2
    python -m jasco_core.training.dataset --out data/eval.npz --n 200 --first-seed 1000000 \\
        --codec-from data/train.npz
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import multiprocessing
import os
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Sequence, Union

import numpy as np

__all__ = [
    "DatasetConfig",
    "BuildReport",
    "build_dataset",
    "load_dataset",
    "codec_from_dataset",
    "quantise_latents",
    "dequantise_latents",
    "delta_encode",
    "delta_decode",
    "piece_frames",
    "main",
]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1


@dataclass(frozen=True)
class DatasetConfig:
    """How pieces are rendered and stored."""

    duration: float = 10.0
    sample_rate: int = 22050
    frame_rate: int = 50
    latent_lo: float = -4.0
    latent_hi: float = 4.0
    stats_pieces: int = 32  # first pieces of a build used to fit the codec statistics
    chunksize: int = 4  # pieces handed to a worker at a time


@dataclass(frozen=True)
class BuildReport:
    """What a build produced and what it cost."""

    path: str
    n_pieces: int
    seconds: float
    bytes: int
    clipped_fraction: float  # latent values outside [latent_lo, latent_hi]

    @property
    def seconds_per_piece(self) -> float:
        return self.seconds / max(1, self.n_pieces)

    @property
    def bytes_per_piece(self) -> float:
        return self.bytes / max(1, self.n_pieces)


def quantise_latents(latents: np.ndarray, lo: float = -4.0, hi: float = 4.0) -> np.ndarray:
    """Clip float latents to ``[lo, hi]`` and map them to uint8 (256 evenly spaced levels)."""
    scaled = (np.clip(np.asarray(latents, dtype=np.float32), lo, hi) - lo) * (255.0 / (hi - lo))
    return np.rint(scaled).astype(np.uint8)


def dequantise_latents(quantised: np.ndarray, lo: float = -4.0, hi: float = 4.0) -> np.ndarray:
    """Inverse of :func:`quantise_latents` (float32; error at most ``(hi - lo) / 510``)."""
    return (np.asarray(quantised, dtype=np.float32) * np.float32((hi - lo) / 255.0) + np.float32(lo)).astype(np.float32)


def delta_encode(quantised: np.ndarray) -> np.ndarray:
    """Frame-to-frame difference (mod 256) of uint8 latents [N, T, D] along T."""
    quantised = np.asarray(quantised, dtype=np.uint8)
    delta = quantised.copy()
    delta[:, 1:] -= quantised[:, :-1]  # uint8 arithmetic wraps modulo 256
    return delta


def delta_decode(delta: np.ndarray) -> np.ndarray:
    """Inverse of :func:`delta_encode`."""
    return np.cumsum(np.asarray(delta, dtype=np.uint8), axis=1, dtype=np.uint8)


def piece_frames(piece, n_frames: int, frame_rate: int = 50):
    """Per-frame chord indices (int16), melody pitches (int8) and drum features (float16) of a piece."""
    from jasco_core.conditions.chords import frame_chords
    from jasco_core.encoders.drums_features import drum_features
    from jasco_core.training.render import melody_to_frames

    chords = frame_chords(piece.chords, n_frames, frame_rate).astype(np.int16)
    melody = melody_to_frames(piece.melody_notes, n_frames, frame_rate).astype(np.int8)
    if piece.meta.get("has_drums"):
        drums = drum_features(piece.drums, piece.sample_rate, n_frames, frame_rate)
    else:
        drums = np.zeros((n_frames, 4), dtype=np.float32)
    return chords, melody, (np.round(drums * 255.0) / 255.0).astype(np.float16)


# ------------------------------------------------------------------ workers
_WORKER_CODECS: dict = {}


def _init_worker() -> None:
    """Per-process setup: one torch thread each, the processes give the parallelism."""
    import torch

    torch.set_num_threads(1)


def _worker_codec(codec_json: Optional[str]):
    """The codec of a task, built once per process and config."""
    if codec_json is None:
        return None
    if codec_json not in _WORKER_CODECS:
        from jasco_core.codecs.mel import MelCodec

        _WORKER_CODECS.clear()
        _WORKER_CODECS[codec_json] = MelCodec.from_dict(json.loads(codec_json))
    return _WORKER_CODECS[codec_json]


def _process(task: tuple[int, DatasetConfig, Optional[str]]) -> dict:
    """Render one seed; return its stored arrays, with latents if a codec is given, else the audio."""
    import torch

    from jasco_core.training.render import render_piece

    seed, config, codec_json = task
    piece = render_piece(seed, config.duration, config.sample_rate)
    n_frames = -(-len(piece.audio) // (config.sample_rate // config.frame_rate))
    chords, melody, drums = piece_frames(piece, n_frames, config.frame_rate)
    meta = dict(piece.meta, chords=[[label, start] for label, start in piece.chords],
                melody_notes=[[p, s, e] for p, s, e in piece.melody_notes])
    record = {
        "seed": int(seed), "chords": chords, "melody": melody, "drums": drums,
        "description": piece.description, "meta_json": json.dumps(meta, sort_keys=True),
    }
    codec = _worker_codec(codec_json)
    if codec is None:
        record["audio"] = piece.audio
    else:
        with torch.no_grad():
            record["latents"] = codec.encode(torch.from_numpy(piece.audio)[None])[0].numpy()
        if record["latents"].shape[0] != n_frames:
            raise RuntimeError(f"codec gave {record['latents'].shape[0]} frames, conditions have {n_frames}")
    return record


def _run(pool, seeds: Sequence[int], config: DatasetConfig, codec_json: Optional[str], desc: str) -> list[dict]:
    """Process seeds in order, in the pool's processes (in this process when ``pool`` is None)."""
    from tqdm import tqdm

    tasks = [(int(seed), config, codec_json) for seed in seeds]
    if not tasks:
        return []
    if pool is None:
        return [_process(task) for task in tqdm(tasks, desc=desc, unit="piece")]
    results = pool.imap(_process, tasks, chunksize=config.chunksize)
    return list(tqdm(results, total=len(tasks), desc=desc, unit="piece"))


# ------------------------------------------------------------------ building
def _fit_codec(records: list[dict], config: DatasetConfig):
    from jasco_core.codecs.mel import MelCodec

    codec = MelCodec()
    if codec.sample_rate != config.sample_rate:
        raise ValueError(f"MelCodec expects {codec.sample_rate} Hz audio, the build renders {config.sample_rate} Hz")
    codec.fit_stats(record["audio"][None] for record in records)
    return codec


def _encode_in_place(records: list[dict], codec) -> None:
    import torch

    with torch.no_grad():
        for record in records:
            record["latents"] = codec.encode(torch.from_numpy(record.pop("audio"))[None])[0].numpy()
            if record["latents"].shape[0] != record["chords"].shape[0]:
                raise RuntimeError("codec frames and condition frames differ")


def _write_npz(path: Path, arrays: dict) -> None:
    """Write an ``.npz`` whose members are LZMA-compressed (readable by ``np.load``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_LZMA) as archive:
        for name, value in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asanyarray(value), allow_pickle=False)
            archive.writestr(name + ".npy", buffer.getvalue())
    os.replace(tmp, path)


def build_dataset(
    out_path: Union[str, Path],
    n_pieces: int,
    first_seed: int = 0,
    workers: int = 2,
    duration: float = 10.0,
    codec=None,
    config: Optional[DatasetConfig] = None,
) -> BuildReport:
    """Render seeds ``first_seed .. first_seed + n_pieces - 1`` and write one compact ``.npz``.

    Args:
        out_path: file to write (parent folders are created).
        n_pieces: number of pieces.
        first_seed: seed of the first piece; use disjoint ranges for train and evaluation sets.
        workers: rendering processes (1 renders in this process).
        duration: seconds per piece.
        codec: a fitted ``MelCodec`` to encode with; ``None`` fits the statistics on the first
            ``config.stats_pieces`` pieces of this build.
        config: storage settings; its ``duration`` is replaced by ``duration``.
    """
    from dataclasses import replace

    from jasco_core.conditions.vocabulary import load_vocabulary

    if n_pieces <= 0:
        raise ValueError(f"n_pieces must be positive, got {n_pieces}")
    config = replace(config or DatasetConfig(), duration=float(duration))
    out_path = Path(out_path)
    seeds = list(range(int(first_seed), int(first_seed) + int(n_pieces)))
    started = time.perf_counter()
    pool = None
    if workers > 1:
        pool = multiprocessing.get_context("spawn").Pool(workers, initializer=_init_worker)
    try:
        if codec is None:
            head = seeds[: max(1, min(config.stats_pieces, n_pieces))]
            records = _run(pool, head, config, None, "render (codec statistics)")
            codec = _fit_codec(records, config)
            _encode_in_place(records, codec)
            rest = seeds[len(head):]
        else:
            if codec.sample_rate != config.sample_rate or not codec.config.fitted:
                raise ValueError("the codec must be fitted and expect the build's sample rate")
            records, rest = [], seeds
        records += _run(pool, rest, config, json.dumps(codec.to_dict(), sort_keys=True), "render")
    finally:
        if pool is not None:
            pool.close()
            pool.join()

    latents = np.stack([r["latents"] for r in records])
    clipped = float(np.mean((latents < config.latent_lo) | (latents > config.latent_hi)))
    vocab = load_vocabulary()
    arrays = {
        "latents_delta": delta_encode(quantise_latents(latents, config.latent_lo, config.latent_hi)),
        "latent_lo": np.float32(config.latent_lo),
        "latent_hi": np.float32(config.latent_hi),
        "chords": np.stack([r["chords"] for r in records]),
        "melody": np.stack([r["melody"] for r in records]),
        "drums": np.stack([r["drums"] for r in records]),
        "descriptions": np.array([r["description"] for r in records], dtype=str),
        "seeds": np.array([r["seed"] for r in records], dtype=np.int64),
        "meta_json": np.array([r["meta_json"] for r in records], dtype=str),
        "codec_config_json": np.array(json.dumps(codec.to_dict(), sort_keys=True)),
        "chord_labels": np.array(vocab.labels, dtype=str),
        "sample_rate": np.int32(config.sample_rate),
        "frame_rate": np.int32(config.frame_rate),
        "duration": np.float32(config.duration),
        "format_version": np.int32(FORMAT_VERSION),
    }
    del latents
    _write_npz(out_path, arrays)
    seconds = time.perf_counter() - started
    report = BuildReport(str(out_path), len(records), seconds, out_path.stat().st_size, clipped)
    logger.info(
        "wrote %s: %d pieces, %.3f s/piece wall (%d workers), %.0f bytes/piece, %.4f%% latents clipped",
        out_path, report.n_pieces, report.seconds_per_piece, workers, report.bytes_per_piece, 100 * clipped,
    )
    return report


# ------------------------------------------------------------------ loading
def load_dataset(path: Union[str, Path]) -> dict:
    """All arrays of a dataset file, loaded into memory, with ``latents`` as uint8 [N, T, 64].

    0-d arrays become Python scalars/strings; use :func:`dequantise_latents`
    with ``latent_lo``/``latent_hi`` for float latents and
    :func:`codec_from_dataset` for the codec that decodes them.
    """
    with np.load(path, allow_pickle=False) as data:
        out = {}
        for key in data.files:
            value = data[key]
            out[key] = value.item() if value.ndim == 0 else value
    if "latents_delta" in out:
        out["latents"] = delta_decode(out.pop("latents_delta"))
    return out


def codec_from_dataset(data_or_path: Union[dict, str, Path]):
    """The ``MelCodec`` (with its fitted statistics) a dataset was encoded with."""
    from jasco_core.codecs.mel import MelCodec

    if isinstance(data_or_path, dict):
        config_json = data_or_path["codec_config_json"]
    else:
        with np.load(data_or_path, allow_pickle=False) as data:
            config_json = data["codec_config_json"].item()
    return MelCodec.from_dict(json.loads(str(config_json)))


# ------------------------------------------------------------------ command line
def _parse_args(argv: Optional[Iterable[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m jasco_core.training.dataset",
        description="Render seeded training pieces and pack them into one compact .npz file.",
    )
    parser.add_argument("--out", required=True, help="output .npz path")
    parser.add_argument("--n", type=int, required=True, help="number of pieces")
    parser.add_argument("--first-seed", type=int, default=0,
                        help="seed of the first piece (training: 0; held-out sets: e.g. 1000000)")
    parser.add_argument("--workers", type=int, default=2, help="rendering processes")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per piece")
    parser.add_argument("--codec-from", default=None,
                        help="reuse the codec statistics of this dataset (required for held-out sets)")
    parser.add_argument("--codec-json", default=None,
                        help="use this fitted codec config (a bundle's codec.json) instead of fitting one")
    return parser.parse_args(None if argv is None else list(argv))


def main(argv: Optional[Iterable[str]] = None) -> BuildReport:
    """Command-line entry point; prints time and size per piece at the end."""
    args = _parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.codec_from and args.codec_json:
        raise SystemExit("give --codec-from or --codec-json, not both")
    codec = codec_from_dataset(args.codec_from) if args.codec_from else None
    if args.codec_json:
        from jasco_core.codecs.mel import MelCodec
        with open(args.codec_json) as f:
            config = json.load(f)
        config.pop("type", None)
        codec = MelCodec.from_dict(config)
    report = build_dataset(args.out, args.n, args.first_seed, args.workers, args.duration, codec=codec)
    print(f"{report.n_pieces} pieces -> {report.path}")
    print(f"time: {report.seconds:.1f} s total, {report.seconds_per_piece:.3f} s/piece with {args.workers} workers")
    print(f"size: {report.bytes / 1e6:.2f} MB total, {report.bytes_per_piece / 1e3:.1f} kB/piece")
    print(f"latent values clipped to [{DatasetConfig.latent_lo}, {DatasetConfig.latent_hi}]: "
          f"{100 * report.clipped_fraction:.3f}%")
    return report


if __name__ == "__main__":
    main()
