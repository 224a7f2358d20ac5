"""The full-size preset's parts must fit together; checked on the meta device (no memory, no download)."""

import pytest
import torch
from diffusers import UNet2DConditionModel

from gen1_batch.model import presets
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


def test_presets_mark_their_random_weights():
    assert presets.PRESETS["tiny"].settings["random_weights"] == ["all"]
    assert presets.PRESETS["gen1-sd15"].settings["random_weights"] == ["unet.temporal", "unet.structure_input"]


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
