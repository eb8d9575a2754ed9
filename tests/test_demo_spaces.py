"""docs/spaces.md: its example README front matter for a GPU Space running a released model is a
valid Spaces configuration for this repository."""
from __future__ import annotations

import os
import re

import gradio
import pytest
import yaml
from huggingface_hub import SpaceHardware, SpaceStorage

from jasco_core.checkpoints import RELEASED_MODELS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "spaces.md")
# https://huggingface.co/docs/hub/spaces-config-reference: the keys a Space reads from its README
SPACES_KEYS = {
    "title", "emoji", "colorFrom", "colorTo", "sdk", "python_version", "sdk_version", "suggested_hardware",
    "suggested_storage", "app_file", "app_port", "base_path", "fullWidth", "header", "short_description", "models",
    "datasets", "tags", "thumbnail", "pinned", "hf_oauth", "hf_oauth_scopes", "hf_oauth_expiration_minutes",
    "hf_oauth_authorized_org", "disable_embedding", "startup_duration_timeout", "custom_headers", "preload_from_hub",
    "license",
}
COLORS = {"red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray"}
USED_REPOS = set(RELEASED_MODELS) | {"google-t5/t5-base", "facebook/encodec_32khz"}   # what a released model loads


def front_matters(text: str) -> list:
    """Every YAML block between '---' lines inside a ```yaml fence (indented inside a list too)."""
    blocks = re.findall(r"^( *)```yaml\n\1---\n(.*?)\n\1---\n\1```", text, flags=re.S | re.M)
    return [yaml.safe_load("\n".join(line[len(indent):] for line in block.split("\n"))) for indent, block in blocks]


@pytest.fixture(scope="module")
def doc() -> str:
    with open(DOC, encoding="utf-8") as f:
        return f.read()


def test_the_gpu_space_front_matter_is_a_valid_config_for_this_repo(doc):
    blocks = front_matters(doc)
    assert len(blocks) == 1, "docs/spaces.md shows one example front matter"
    config = blocks[0]
    assert set(config) <= SPACES_KEYS, f"keys Spaces does not read: {set(config) - SPACES_KEYS}"
    assert config["sdk"] == "gradio"
    assert os.path.isfile(os.path.join(ROOT, config["app_file"])) and config["app_file"] == "app.py"
    assert isinstance(config["sdk_version"], str), "quote sdk_version, or YAML may read 6.30 as a number"
    assert config["sdk_version"].split(".")[0] == gradio.__version__.split(".")[0]
    assert {config["colorFrom"], config["colorTo"]} <= COLORS and config["title"] and config["emoji"]
    assert len(config["short_description"]) <= 60
    # a GPU, storage for the cache, time for the first download
    assert config["suggested_hardware"] in {h.value for h in SpaceHardware}
    assert not config["suggested_hardware"].startswith("cpu")
    assert config["suggested_storage"] in {s.value for s in SpaceStorage}
    assert re.fullmatch(r"\d+[mh]", config["startup_duration_timeout"])
    # the repositories it names are the ones a released model loads, and at least one model
    assert set(config["models"]) <= USED_REPOS and set(config["models"]) & set(RELEASED_MODELS)
    # variables and secrets are set in the Space's settings: no token in the README
    assert not re.search(r"\bhf_[A-Za-z0-9]{8,}", yaml.safe_dump(config))


def test_the_readme_shows_the_same_front_matter(doc):
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    assert front_matters(readme) == front_matters(doc) and len(front_matters(readme)) == 1


def test_the_doc_names_the_settings_a_released_model_needs(doc):
    model = next(m for m in front_matters(doc)[0]["models"] if m in RELEASED_MODELS)
    assert f"| variable | `JASCO_MODEL` | e.g. `{model}` |" in doc          # the model the example runs
    assert "| secret | `HF_TOKEN` |" in doc and f"https://huggingface.co/{model}" in doc   # where access is requested
    assert "HF_HOME=/data/.huggingface" in doc and "persistent storage" in doc.lower()
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:  # the CPU Space: this repo's own README
        readme = yaml.safe_load(re.match(r"---\n(.*?)\n---\n", f.read(), flags=re.S).group(1))
    assert readme["sdk"] == "gradio" and readme["app_file"] == "app.py"
    assert readme["sdk_version"] == front_matters(doc)[0]["sdk_version"]
