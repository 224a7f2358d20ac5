"""Writing a preset to a model folder: complete or not at all, on a disk or a bucket."""

import dataclasses

import pytest

from gen1_batch.model.presets.download import preset_weights_present, save_preset
from gen1_batch.model.presets.registry import PRESETS


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
        save_preset(PRESETS["tiny"], str(target))
    assert os.listdir(tmp_path / "models") == []  # neither the model folder nor a half-written one


def test_on_a_bucket_the_model_index_is_written_last(monkeypatch):
    import fsspec
    from fsspec.implementations.memory import MemoryFileSystem

    written = []
    put_file = MemoryFileSystem.put_file
    monkeypatch.setattr(MemoryFileSystem, "put_file",
                        lambda self, lpath, rpath, **kw: written.append(rpath) or put_file(self, lpath, rpath, **kw))
    save_preset(PRESETS["tiny"], "memory://models/tiny")
    fs = fsspec.filesystem("memory")
    assert fs.exists("/models/tiny/model_index.json") and fs.exists("/models/tiny/unet")
    assert "model_index.json" in written[-1] and not any("model_index.json" in p for p in written[:-1])


def test_an_existing_model_folder_is_refused_before_anything_is_downloaded(tmp_path):
    def build(names, random_init):
        raise AssertionError("nothing may be downloaded for a target that exists")

    (tmp_path / "tiny").mkdir()
    with pytest.raises(FileExistsError, match="tiny exists"):
        save_preset(dataclasses.replace(PRESETS["tiny"], build=build), str(tmp_path / "tiny"))


def test_a_presets_weights_are_reported_missing_by_repository_until_the_hub_cache_holds_them(tmp_path,
                                                                                              monkeypatch):
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path))
    preset = dataclasses.replace(PRESETS["tiny"], hub_files={"studio/unet": "config.json", "studio/vae": "a/b.json"})
    assert preset_weights_present(preset) == "not downloaded: studio/unet, studio/vae"
    for repo, probe in preset.hub_files.items():  # laid out as huggingface_hub lays out its cache
        folder = tmp_path / f"models--{repo.replace('/', '--')}"
        (folder / "refs").mkdir(parents=True)
        (folder / "refs" / "main").write_text("0" * 40)
        (folder / "snapshots" / ("0" * 40) / probe).parent.mkdir(parents=True)
        (folder / "snapshots" / ("0" * 40) / probe).write_text("{}")
        if repo == "studio/unet":
            assert preset_weights_present(preset) == "not downloaded: studio/vae"
    assert preset_weights_present(preset) == "in the hub cache"
    assert preset_weights_present(PRESETS["tiny"]).startswith("built in-process")
