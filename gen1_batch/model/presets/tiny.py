"""The `tiny` preset: the Gen-1 architecture at toy size, built in-process with seeded random weights (no
download, seconds on CPU), for tests and trying the pipeline. Its configs, character-level tokenizer and
seeded building serve the toy AnimateDiff backend too (presets.animatediff)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

from gen1_batch.model.settings import COMPONENTS

TINY_SEED = 1234

TINY_CONFIGS: dict[str, dict[str, Any]] = {
    "vae": dict(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 4,
                up_block_types=("UpDecoderBlock2D",) * 4, block_out_channels=(16, 32, 32, 32), latent_channels=4,
                norm_num_groups=8, layers_per_block=1, sample_size=64),
    "unet": dict(sample_size=16, in_channels=8, out_channels=4, layers_per_block=1, block_out_channels=(32, 64),
                 down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                 up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=32, attention_head_dim=8,
                 norm_num_groups=8),
    "scheduler": dict(num_train_timesteps=1000, beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012,
                      clip_sample=False, set_alpha_to_one=False, steps_offset=1, prediction_type="v_prediction",
                      timestep_spacing="trailing"),
    "depth_estimator": dict(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=4,
                            backbone_out_indices=[0, 1, 2, 3], num_attention_heads=4, intermediate_size=37,
                            is_hybrid=False, reassemble_factors=[4, 2, 1, 0.5], neck_hidden_sizes=[16, 16, 32, 32],
                            fusion_hidden_size=16, head_in_index=-1,
                            # transformers' default (0.02) shrinks activations to ~1e-8 over the
                            # tiny DPT, and random depth would come out flat; this keeps it varying.
                            initializer_range=0.12),
    "image_encoder": dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
                          image_size=32, patch_size=8, projection_dim=32),
    "text_encoder": dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
                         max_position_embeddings=32, projection_dim=32),
    "prior": dict(num_attention_heads=2, attention_head_dim=16, num_layers=2, embedding_dim=32, num_embeddings=32,
                  additional_embeddings=4),
    "prior_scheduler": dict(variance_type="fixed_small_log", clip_sample=True, clip_sample_range=5.0,
                            prediction_type="sample", num_train_timesteps=1000),
    "tokenizer": dict(model_max_length=32),
}

TINY_SETTINGS: dict[str, Any] = {
    "default_steps": 4,
    "default_resolution": 64,
    "resolution_multiple": 16,  # the autoencoder's 8 × the UNet's 2
    "window_length": 8,
    "depth_size": 32,
    "clip_size": 32,
    "prior_steps": 2,
    "random_weights": ["all"],
}


def tiny_tokenizer(model_max_length: int = TINY_CONFIGS["tokenizer"]["model_max_length"]):
    """A character-level CLIP tokenizer built in memory: CLIP's byte alphabet, no merges."""
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import CLIPTokenizer

    alphabet = sorted(ByteLevel.alphabet())
    vocab = {c: i for i, c in enumerate(alphabet)}
    vocab.update({c + "</w>": len(alphabet) + i for i, c in enumerate(alphabet)})
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[])
    tokenizer.model_max_length = model_max_length
    return tokenizer


def tiny_text_config(tokenizer: Any, config: dict[str, Any] | None = None) -> Any:
    """A small CLIP text tower's config (tiny's unless `config`), with the tokenizer's vocabulary and
    special tokens."""
    from transformers import CLIPTextConfig

    vocab = tokenizer.get_vocab()
    return CLIPTextConfig(vocab_size=len(vocab), bos_token_id=vocab["<|startoftext|>"],
                          eos_token_id=vocab["<|endoftext|>"], pad_token_id=vocab["<|endoftext|>"],
                          **(config or TINY_CONFIGS["text_encoder"]))


def randomize_zero_weights(parameters: Iterable[Any]) -> None:
    """Random values for weight matrices that start at zero (temporal layers and motion modules start
    as the identity), so that a model with random weights mixes frames too."""
    import torch

    for p in parameters:
        if p.ndim > 1 and not p.abs().any():
            torch.nn.init.normal_(p, std=0.05)


def build_seeded(builders: dict[str, Any], names: Iterable[str], namespace: str = "") -> dict[str, Any]:
    """Build each named component with its own seed (a hash of its name), so a component's random
    weights do not depend on which others were built, and the caller's RNG state is left alone."""
    import torch

    components = {}
    for name in names:
        digest = hashlib.sha256(f"{TINY_SEED}:{namespace}{name}".encode()).digest()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int.from_bytes(digest[:8], "big"))
            module = builders[name]()
        if hasattr(module, "eval"):
            module.eval()
        components[name] = module
    return components


def build_tiny(names: Iterable[str] | None = None, random_init: bool = True) -> dict[str, Any]:
    """Tiny components with seeded random weights; each component's weights depend only on its name."""
    from diffusers import AutoencoderKL, DDIMScheduler, PriorTransformer, UnCLIPScheduler
    from transformers import (
        CLIPTextModelWithProjection,
        CLIPVisionConfig,
        CLIPVisionModelWithProjection,
        DPTConfig,
        DPTForDepthEstimation,
    )

    from gen1_batch.model.unet import Gen1UNet

    c = TINY_CONFIGS
    names = list(names or COMPONENTS)
    tokenizer = tiny_tokenizer()

    def unet() -> Gen1UNet:
        model = Gen1UNet(dict(c["unet"]), structure_channels=4, temporal_head_dim=8, max_frames=32)
        randomize_zero_weights(model.temporal_parameters())
        return model

    builders: dict[str, Callable[[], Any]] = {
        "vae": lambda: AutoencoderKL(**c["vae"]),
        "unet": unet,
        "scheduler": lambda: DDIMScheduler(**c["scheduler"]),
        "depth_estimator": lambda: DPTForDepthEstimation(DPTConfig(**c["depth_estimator"])),
        "image_encoder": lambda: CLIPVisionModelWithProjection(CLIPVisionConfig(**c["image_encoder"])),
        "text_encoder": lambda: CLIPTextModelWithProjection(tiny_text_config(tokenizer)),
        "tokenizer": lambda: tokenizer,
        "prior": lambda: PriorTransformer(**c["prior"]),
        "prior_scheduler": lambda: UnCLIPScheduler(**c["prior_scheduler"]),
    }
    return build_seeded(builders, names)
