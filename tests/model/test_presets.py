"""Presets: the full-size parts fit together (checked on the meta device: no memory, no download); keys, the
components built and their seeded weights behave as the registry promises."""

import dataclasses

import pytest
import torch
from diffusers import UNet2DConditionModel

from gen1_batch.model import presets
from gen1_batch.model.settings import PIPELINES
from gen1_batch.model.unet import Gen1UNet


def test_gen1_sd15_content_width_matches_across_clip_prior_and_unet():
    width = presets.SD15_UNET_CONFIG["cross_attention_dim"]
    assert width == presets.CLIP_L_VISION_CONFIG["projection_dim"] == presets.CLIP_L_TEXT_CONFIG["projection_dim"]
    assert width == presets.KARLO_PRIOR_CONFIG["embedding_dim"]
    assert presets.KARLO_PRIOR_CONFIG["num_embeddings"] == presets.CLIP_L_TEXT_CONFIG["max_position_embeddings"]


def test_gen1_sd15_video_unet_extends_sd15_with_structure_input_and_temporal_layers():
    with torch.device("meta"):
        image = UNet2DConditionModel(**presets.SD15_UNET_CONFIG)
        video = Gen1UNet.from_unet2d(image, temporal_head_dim=64, max_frames=32)
    assert (video.spatial.config.in_channels, video.latent_channels) == (8, 4)  # 2 × latent channels
    resnets = sum(type(m).__name__ == "ResnetBlock2D" for m in image.modules())
    transformers = sum(type(m).__name__ == "Transformer2DModel" for m in image.modules())
    assert (len(video.temporal_convs), len(video.temporal_attentions)) == (2 * resnets, transformers) == (44, 16)
    spatial = sum(p.numel() for p in video.spatial.parameters())
    assert spatial - sum(p.numel() for p in image.parameters()) == 320 * 4 * 3 * 3  # the new depth input weights


def test_a_presets_key_changes_exactly_when_what_it_builds_changes():
    preset = presets.PRESETS["tiny"]
    assert dataclasses.replace(preset, settings=dict(preset.settings)).key() == preset.key()
    changed_settings = dataclasses.replace(preset, settings={**preset.settings, "window_length": 9})
    changed_weights = dataclasses.replace(preset, components={"all": "other weights"})
    assert len({preset.key(), changed_settings.key(), changed_weights.key()}) == 3


TINY_PRESETS = [name for name in presets.PRESETS if name.startswith("tiny")]  # the ones built without downloads


@pytest.mark.parametrize("name", TINY_PRESETS)
def test_a_preset_builds_exactly_the_components_its_pipeline_declares(name):
    preset = presets.PRESETS[name]
    declared = PIPELINES[preset.pipeline]["components"]
    assert set(preset.build(None, True)) == set(declared)
    for part in preset.settings["random_weights"]:  # what reports flag as untrained is something it builds
        assert part == "all" or part.split(".")[0] in declared


@pytest.mark.parametrize("name", TINY_PRESETS)
def test_each_components_seeded_weights_do_not_depend_on_which_others_were_built(name):
    build = presets.PRESETS[name].build
    torch.manual_seed(123)  # nor on the caller's random state
    alone = build(["unet"], True)["unet"].state_dict()
    torch.manual_seed(456)
    beside = build(["vae", "text_encoder", "unet"], True)["unet"].state_dict()
    assert alone.keys() == beside.keys() and all(torch.equal(alone[k], beside[k]) for k in alone)


def test_a_download_that_fails_leaves_no_folder_that_looks_like_a_model(tmp_path, monkeypatch):
    import os

    from gen1_batch.model.pipeline_gen1 import Gen1Pipeline

    def cut_off(self, folder, **kwargs):  # the network goes while the model folder is being written
        os.makedirs(folder, exist_ok=True)
        open(os.path.join(folder, "model_index.json"), "w").close()
        raise ConnectionError("connection reset")

    monkeypatch.setattr(Gen1Pipeline, "save_pretrained", cut_off)
    target = tmp_path / "models" / "tiny"
    with pytest.raises(ConnectionError):
        presets.save_preset(presets.PRESETS["tiny"], str(target))
    assert os.listdir(tmp_path / "models") == []  # neither the model folder nor a half-written one


def test_on_a_bucket_the_model_index_is_written_last(monkeypatch):
    import fsspec
    from fsspec.implementations.memory import MemoryFileSystem

    written = []
    put_file = MemoryFileSystem.put_file
    monkeypatch.setattr(MemoryFileSystem, "put_file",
                        lambda self, lpath, rpath, **kw: written.append(rpath) or put_file(self, lpath, rpath, **kw))
    presets.save_preset(presets.PRESETS["tiny"], "memory://models/tiny")
    fs = fsspec.filesystem("memory")
    assert fs.exists("/models/tiny/model_index.json") and fs.exists("/models/tiny/unet")
    assert "model_index.json" in written[-1] and not any("model_index.json" in p for p in written[:-1])


def test_an_existing_model_folder_is_refused_before_anything_is_downloaded(tmp_path):
    import dataclasses

    def build(names, random_init):
        raise AssertionError("nothing may be downloaded for a target that exists")

    (tmp_path / "tiny").mkdir()
    with pytest.raises(FileExistsError, match="tiny exists"):
        presets.save_preset(dataclasses.replace(presets.PRESETS["tiny"], build=build), str(tmp_path / "tiny"))
