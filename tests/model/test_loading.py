import shutil

import fsspec
import numpy as np
import pytest

from gen1_batch.model.loading import ModelNotFound, describe_model, fingerprint, load_components, load_pipeline
from gen1_batch.model.pipeline_gen1 import Gen1Pipeline
from gen1_batch.model.presets import PRESETS, build_tiny


@pytest.fixture(scope="module")
def saved(tiny, tmp_path_factory):
    folder = tmp_path_factory.mktemp("model") / "tiny"
    tiny.save_pretrained(str(folder))
    return str(folder)


def edit(pipe, frames):
    return pipe(frames, prompt="a red car", image_prompt=frames[0], seed=5).frames


def test_save_pretrained_then_loading_the_folder_gives_identical_outputs(tiny, saved, frames):
    expected = edit(tiny, frames)
    assert np.array_equal(edit(load_pipeline(saved, device="cpu"), frames), expected)
    assert np.array_equal(edit(Gen1Pipeline.from_pretrained(saved), frames), expected)  # diffusers' own loader
    assert np.array_equal(edit(load_pipeline("file://" + saved, device="cpu"), frames), expected)


def test_a_model_folder_at_an_fsspec_url_loads_and_is_cached(tiny, saved, frames, tmp_path, monkeypatch):
    monkeypatch.setattr("gen1_batch.model.loading.CACHE_DIR", str(tmp_path / "cache"))
    fsspec.filesystem("memory").put(saved + "/", "/models/tiny", recursive=True)
    ref = describe_model("memory://models/tiny")
    assert ref.kind == "url" and ref.settings["default_steps"] == 4
    assert np.array_equal(edit(load_pipeline(ref, device="cpu"), frames), edit(tiny, frames))
    # Only what a stage asks for is fetched.
    load_components(ref, ["depth_estimator"])
    fsspec.filesystem("memory").rm("/models/tiny", recursive=True)


def test_the_key_changes_when_the_weights_change(saved, tmp_path):
    copy = str(tmp_path / "copy")
    shutil.copytree(saved, copy)
    before = describe_model(copy).key
    with open(f"{copy}/vae/config.json", "a") as f:
        f.write("\n")
    assert describe_model(copy).key != before


def test_a_model_folder_records_random_weights_and_settings(saved):
    ref = describe_model(saved)
    assert ref.random_weights == ["all"] and ref.settings["resolution_multiple"] == 16


def test_stages_load_only_their_components():
    components = load_components("tiny", ["depth_estimator"])
    assert list(components) == ["depth_estimator"]


def test_tiny_weights_are_seeded_per_component():
    """A stage that builds only its components gets the same weights as a process that builds all."""
    assert fingerprint(build_tiny(["vae"]))["vae"] == fingerprint(build_tiny(["unet", "vae"]))["vae"]


def test_unknown_models_say_what_was_tried(tmp_path):
    with pytest.raises(ModelNotFound, match="not a preset"):
        describe_model("no such model")
    with pytest.raises(ModelNotFound, match="not a preset"):  # a hub id is matched whole
        describe_model("studio/gen1-tiny\n")
    with pytest.raises(ModelNotFound, match=r"model_index\.json"):
        describe_model(str(tmp_path))


def test_presets_have_stable_keys():
    assert describe_model("tiny").key == PRESETS["tiny"].key() == describe_model("tiny").key
    assert PRESETS["tiny"].key() != PRESETS["gen1-sd15"].key()


def test_a_hub_id_loads_from_the_hub_cache_offline(saved, tmp_path, tiny, frames):
    """The hub path without a network: a cache laid out as huggingface_hub lays it out, HF_HUB_OFFLINE=1."""
    import os
    import subprocess
    import sys

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--studio--gen1-tiny"
    shutil.copytree(saved, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    np.save(tmp_path / "frames.npy", frames)
    script = f"""
import numpy as np
from gen1_batch.model.loading import describe_model, load_pipeline
ref = describe_model("studio/gen1-tiny")
assert (ref.kind, ref.key) == ("hub", "studio/gen1-tiny@{commit}"), ref
frames = np.load("{tmp_path / 'frames.npy'}")
out = load_pipeline(ref, device="cpu")(frames, prompt="a red car", image_prompt=frames[0], seed=5).frames
np.save("{tmp_path / 'out.npy'}", out)
"""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "hub")}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert np.array_equal(np.load(tmp_path / "out.npy"), edit(tiny, frames))


def test_a_model_folder_missing_a_component_is_refused_before_anything_runs(saved, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(saved, broken)
    shutil.rmtree(broken / "unet")
    with pytest.raises(ModelNotFound, match="names unet, but the folder has no unet/"):
        describe_model(str(broken))
