"""The released chord vocabulary: labels, indices, the null and no-chord rows."""

import json

import pytest

from jasco_core.conditions.vocabulary import DEFAULT_VOCABULARY_PATH
from tests.conftest import vocabulary

VOCAB = vocabulary()


def test_vocabulary_matches_json():
    data = json.loads(DEFAULT_VOCABULARY_PATH.read_text())
    assert list(VOCAB.labels) == data["labels"]
    assert len(VOCAB) == 194
    assert VOCAB.null_index == 194 == data["null_index"]
    assert VOCAB.labels[VOCAB.no_chord_index] == "N" and VOCAB.no_chord_index == 0
    assert VOCAB.labels[VOCAB.unk_index] == "UNK" and VOCAB.unk_index == 193
    assert VOCAB.pitch_classes("Am") == (0, 4, 9)
    assert VOCAB.entry("C/D").bass == 2 and VOCAB.entry("C/D").pitch_classes == (0, 4, 7)
    with pytest.raises(KeyError):
        VOCAB.index_of("Db")
