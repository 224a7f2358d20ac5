"""A preset's weights on this machine and in a model folder: whether the hub cache holds them, reaching the
hub, and `save_preset`, which writes every component of a preset to one model folder (`gen1 models download`)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable

from gen1_batch import storage
from gen1_batch.errors import describe
from gen1_batch.model.presets.registry import Preset
from gen1_batch.model.settings import DEFAULT_SETTINGS, MODEL_INDEX, pipeline_class


def preset_weights_present(preset: Preset) -> str:
    """Where a preset's weights are: built in-process, in the hub cache, or still to download."""
    if preset.folder:
        if os.path.exists(os.path.join(preset.folder, MODEL_INDEX)):
            return "shipped (trained)"
        return "not shipped: python -m gen1_batch.toy.stack DIR trains it into DIR/model"
    if preset.built_in_process:
        return "built in-process (random)"
    from huggingface_hub import try_to_load_from_cache

    missing = [repo for repo, probe in preset.hub_files.items()
               if not isinstance(try_to_load_from_cache(repo, probe), str)]
    return "in the hub cache" if not missing else f"not downloaded: {', '.join(missing)}"


class HubUnreachable(ConnectionError):
    """The Hugging Face hub cannot be reached; the message names its URL and the repositories wanted."""


def check_hub(repos: Iterable[str]) -> None:
    """One request to the hub, without retries, so that a download with no route to it fails at once
    (the hub client retries each file for half a minute) and says so, instead of as a missing file."""
    from huggingface_hub import constants
    from huggingface_hub.utils import get_session

    if constants.HF_HUB_OFFLINE:  # the cache alone is asked for
        return
    repos = list(repos)
    url = f"{constants.ENDPOINT}/api/models/{repos[0]}"
    try:
        get_session().head(url, timeout=15)
    except Exception as e:  # any answer, even 401 or 404, means the hub is reachable
        raise HubUnreachable(f"cannot reach the Hugging Face hub ({describe(e, url)}) for {', '.join(repos)}: "
                             "check the network, a proxy (HTTPS_PROXY) or HF_ENDPOINT") from None


def save_preset(preset: Preset, target: str) -> None:
    """Build (downloading where needed) every component of a preset and write one model folder.

    The folder appears only when complete: it is written beside the target as TARGET.partial and
    renamed (on a bucket, model_index.json, which makes a folder a model, is uploaded last), and a
    failed attempt removes its partial folder. Downloads go through the hub cache, so the next
    attempt resumes from what was fetched.
    """
    remote = storage.is_url(target) and not target.startswith("file://")
    if not remote:
        target = os.path.abspath(target.removeprefix("file://"))
    if storage.exists(storage.join(target, MODEL_INDEX) if remote else target):  # before any download
        raise FileExistsError(f"{target} exists; remove it first or choose another folder")
    if preset.hub_files:
        check_hub(preset.hub_files)
    components = preset.build(None, False)  # a shipped preset loads its trained folder
    pipe = pipeline_class(preset.pipeline)(**components, settings={**DEFAULT_SETTINGS, **preset.settings})
    if remote:
        with tempfile.TemporaryDirectory(prefix="gen1-model-") as tmp:
            folder, index = os.path.join(tmp, "model"), os.path.join(tmp, MODEL_INDEX)
            pipe.save_pretrained(folder)
            os.replace(os.path.join(folder, MODEL_INDEX), index)
            fs, path = storage.filesystem(target)
            with storage.explained(target):
                fs.put(folder + "/", path, recursive=True)
            storage.put_file_atomic(index, storage.join(target, MODEL_INDEX))  # last: the folder is now a model
        return
    os.makedirs(os.path.dirname(target), exist_ok=True)
    partial = f"{target}.partial"
    shutil.rmtree(partial, ignore_errors=True)  # an earlier attempt's, if it was killed
    try:
        pipe.save_pretrained(partial)
        os.replace(partial, target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
