"""Parameter groups a recipe names in `trains`, by parameter name in the module its target trains.
In the Gen-1 UNet (unet.py) the image UNet is `spatial.*`, the temporal layers `temporal_convs.*` and
`temporal_attentions.*`; the autoencoder's decoder can train alone; other targets train all of theirs."""

from __future__ import annotations

from collections.abc import Callable

import torch

# name -> (what it is, which parameter names it holds)
Groups = dict[str, tuple[str, Callable[[str], bool]]]

GROUPS: Groups = {
    "all": ("every parameter of the UNet", lambda n: True),
    "spatial": ("the image UNet (every layer that is not temporal)", lambda n: n.startswith("spatial.")),
    "temporal": ("the temporal convolutions and attentions",
                 lambda n: n.startswith(("temporal_convs.", "temporal_attentions."))),
    "cross_attention": ("the spatial cross-attention layers, where the content embedding enters",
                        lambda n: n.startswith("spatial.") and ".attn2." in n),
    "cross_attention_kv": ("the cross-attention keys and values only (the layers that read the content)",
                           lambda n: n.startswith("spatial.") and (".attn2.to_k." in n or ".attn2.to_v." in n)),
    "structure_input": ("the input convolution, whose added channels read the structure latent",
                        lambda n: n.startswith("spatial.conv_in.")),
}

WHOLE: Groups = {"all": ("every parameter", lambda n: True)}

AUTOENCODER_GROUPS: Groups = {
    **WHOLE,
    # As Stable Diffusion's finetuned decoders (sd-vae-ft-mse): the encoder, and so the latents every
    # model downstream was trained on, stay as they are.
    "decoder": ("the autoencoder's decoder: its latents stay as they are",
                lambda n: n.startswith(("vae.decoder.", "vae.post_quant_conv."))),
}

# The parts `random_weights` names (settings.DEFAULT_SETTINGS), and the groups that train each one whole.
RANDOM_PARTS: dict[str, tuple[str, ...]] = {
    "unet": ("all",),
    "unet.temporal": ("all", "temporal"),
    "unet.structure_input": ("all", "spatial", "structure_input"),
}


def group_parameter_names(model: torch.nn.Module, groups: tuple[str, ...] | list[str],
                          table: Groups = GROUPS) -> list[str]:
    """Names of the parameters in any of `groups` (of `table`), in the model's order."""
    tests = [table[g][1] for g in groups]
    return [name for name, _ in model.named_parameters() if any(test(name) for test in tests)]


def select_trainable(model: torch.nn.Module, groups: tuple[str, ...] | list[str],
                     table: Groups = GROUPS) -> list[torch.nn.Parameter]:
    """Set requires_grad on exactly the parameters of `groups` (and off on all others); returns them."""
    chosen = set(group_parameter_names(model, groups, table))
    trainable = []
    for name, p in model.named_parameters():
        p.requires_grad_(name in chosen)
        if name in chosen:
            trainable.append(p)
    if not trainable:
        raise ValueError(f"the groups {', '.join(groups)} hold no parameters of this model")
    return trainable


def lora_target_modules(model: torch.nn.Module, groups: tuple[str, ...] | list[str]) -> list[str]:
    """The linear layers (by module name) inside `groups`, for LoRA adapters."""
    names = set(group_parameter_names(model, groups))
    return [name for name, m in model.named_modules()
            if isinstance(m, torch.nn.Linear) and f"{name}.weight" in names]


def still_random(random_weights: list[str], components: tuple[str, ...], trained: tuple[str, ...],
                 trained_components: tuple[str, ...] = ()) -> list[str]:
    """`random_weights` after training the UNet groups `trained` (or whole other components): "all" is
    spelled out as the model's networks, a part trained whole leaves the list, and a random UNet
    trained in parts says which ("unet except spatial+temporal") until they cover it."""
    networks = [c for c in components if c not in ("scheduler", "tokenizer", "prior_scheduler")]
    parts = [p for name in random_weights for p in (networks if name == "all" else [name])]
    out = []
    for part in dict.fromkeys(parts):
        if part in trained_components:
            continue
        if part in RANDOM_PARTS and any(g in RANDOM_PARTS[part] for g in trained):
            continue
        if part == "unet" or part.startswith(UNET_EXCEPT):
            done = [g for g in part.removeprefix(UNET_EXCEPT).split("+") if g and part != "unet"]
            done += [g for g in trained if g not in done]
            if "all" in done or {"spatial", "temporal"} <= set(done):
                continue
            out.append(f"{UNET_EXCEPT}{'+'.join(done)}" if done else "unet")
            continue
        out.append(part)
    return out


UNET_EXCEPT = "unet except "
