"""Text descriptions of generated pieces.

The model is prompted with free-form text, so training captions must vary:
several sentence templates, synonyms for every instrument, genre and tempo
word, optional BPM numbers and keys.  Every word is taken from the piece's
metadata, so a caption never names something that is not in the audio.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Optional

from .styles import DRUM_KIT_NAMES, INSTRUMENT_NAMES, Style

__all__ = ["Caption", "choose_mood", "tempo_words", "describe"]

_MOODS = {
    ("major", False): ("calm", "peaceful", "warm", "gentle", "dreamy", "relaxing"),
    ("major", True): ("happy", "bright", "cheerful", "uplifting", "joyful", "playful"),
    ("minor", False): ("sad", "melancholic", "moody", "dark", "wistful", "somber"),
    ("minor", True): ("intense", "dramatic", "tense", "dark", "driving", "mysterious"),
}

_DRUM_PHRASES = {
    "rock": ("rock drums", "a steady rock beat", "driving drums"),
    "pop": ("pop drums", "a simple backbeat", "light drums"),
    "funk": ("funky drums", "tight funk drums", "a syncopated drum groove"),
    "swing": ("swing drums", "a swinging ride cymbal", "jazz drums"),
    "brushes": ("brushed drums", "soft brushes", "brush drums"),
    "shuffle": ("shuffle drums", "a shuffle beat", "a swinging backbeat"),
    "boom_bap": ("boom bap drums", "a hip hop beat", "dusty drums"),
    "four_on_floor": ("four-on-the-floor kick", "a dance beat", "electronic drums"),
    "bossa": ("bossa nova percussion", "rim clicks and soft kick", "light latin percussion"),
    "ballad": ("soft drums", "gentle drums", "a sparse drum beat"),
    "one_drop": ("one-drop drums", "reggae drums", "a laid-back one-drop beat"),
    "train": ("train-beat drums", "country drums", "a shuffling snare beat"),
    "waltz": ("waltz drums", "a three-four beat", "light drums"),
    "jazz_waltz": ("jazz waltz drums", "a swinging ride cymbal", "brushy three-four drums"),
}
_NO_DRUMS = ("no drums", "no percussion", "without drums")

_TEMPLATES = (
    "{mood} {genre} {comp} with {drums}",
    "{a_tempo} {genre} groove with {bass} and {comp} at {bpm} bpm",
    "{genre} track featuring {a_lead} melody over {comp} chords, {tempo}",
    "{lead} solo over {comp} and {bass}, {mood} {genre}",
    "instrumental {genre} {key}, {bpm} bpm, {lead_role}",
    "{a_mood} {genre} tune: {lead} plays the melody, {comp} accompaniment, {drums}",
    "{tempo} {genre} with {lead}, {comp}, {bass} and {drums}",
    "{genre}, {mood}, {lead}, {comp}, {bass}, {drums}, {bpm} bpm",
    "{mood} and {tempo} {genre} piece led by {lead}",
    "{lead} and {comp} in {a_mood} {genre} style",
    "{a_mood} {genre} song {key} with {lead} on top of {comp}",
    "{comp}, {bass} and {drums} behind {a_mood} {lead} melody, {genre}",
    "{bpm} bpm {genre} beat with {drums} and {comp}",
    "{genre} music with {lead} and {comp}",
    "{a_tempo} {genre} instrumental, {mood}, {lead} over {comp}",
    "{mood} {lead} melody, {genre} backing with {bass}",
)


@dataclass(frozen=True)
class Caption:
    """A description and the words it was built from (kept in the metadata)."""

    text: str
    genre: str
    tempo_word: str
    mood: str


def tempo_words(bpm: float) -> tuple[str, ...]:
    """Words for a tempo, from "slow" to "fast"."""
    if bpm < 82:
        return ("slow", "slow-paced", "unhurried")
    if bpm < 100:
        return ("relaxed", "mid-tempo", "easy")
    if bpm < 120:
        return ("mid-tempo", "moderate", "steady")
    if bpm < 140:
        return ("upbeat", "lively", "bouncy")
    return ("fast", "energetic", "up-tempo")


def choose_mood(rng: random.Random, style: Style, mode: str, bpm: float) -> str:
    """A mood word from the mode (major/minor), the tempo and the style's own moods."""
    minor = "minor" if mode in ("minor", "dorian") else "major"
    generic = _MOODS[(minor, bpm >= 110)]
    return rng.choice(generic + style.moods) if rng.random() < 0.5 else rng.choice(style.moods)


def _article(word: str) -> str:
    lower = word.lower()
    vowel_sound = lower[:1] in "aeiou" and not lower.startswith(("eu", "uni", "use", "one"))
    return ("an " if vowel_sound else "a ") + word


def describe(
    rng: random.Random,
    style: Style,
    bpm: int,
    beats_per_bar: int,
    key: str,
    mood: str,
    lead: int,
    comp: int,
    bass: int,
    drum_pattern: Optional[str],
    drum_kit: Optional[int],
) -> Caption:
    """Build one caption: a random template filled with synonyms of the piece's facts."""
    genre = rng.choice(style.genre_words)
    tempo = rng.choice(tempo_words(bpm))
    lead_name = rng.choice(INSTRUMENT_NAMES[lead])
    comp_name = rng.choice(INSTRUMENT_NAMES[comp])
    bass_name = rng.choice(INSTRUMENT_NAMES[bass])
    if drum_pattern is None:
        drums = rng.choice(_NO_DRUMS)
    elif rng.random() < 0.3 and drum_kit in (24, 25, 40):
        drums = rng.choice(DRUM_KIT_NAMES[drum_kit])
    else:
        drums = rng.choice(_DRUM_PHRASES[drum_pattern])
    key_phrase = rng.choice((f"in {key}", f"in the key of {key}"))
    templates = _TEMPLATES if drum_pattern is not None else tuple(t for t in _TEMPLATES if "{drums}" not in t)
    template = rng.choice(templates)
    text = template.format(
        genre=genre, tempo=tempo, a_tempo=_article(tempo), mood=mood, a_mood=_article(mood),
        lead=lead_name, a_lead=_article(lead_name),
        lead_role=lead_name if lead_name.endswith("lead") else f"{lead_name} lead",
        comp=comp_name, bass=bass_name, drums=drums, bpm=bpm, key=key_phrase,
    )
    extras = []
    if "bpm" not in text and rng.random() < 0.25:
        extras.append(rng.choice((f"{bpm} bpm", f"at {bpm} BPM", f"tempo {bpm}")))
    if "key" not in template and rng.random() < 0.15:
        extras.append(key_phrase)
    if beats_per_bar == 3 and "waltz" not in text and rng.random() < 0.5:
        extras.append(rng.choice(("in 3/4", "in three-four time", "waltz time")))
    if drum_pattern is None and rng.random() < 0.5:
        extras.append(drums)
    if extras:
        text = ", ".join([text] + extras)
    if rng.random() < 0.3:
        text = text[0].upper() + text[1:]
    return Caption(text=text, genre=genre, tempo_word=tempo, mood=mood)
