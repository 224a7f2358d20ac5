import pytest
import torch
from diffusers import UNet2DConditionModel

from gen1_batch.model.presets import TINY_CONFIGS
from gen1_batch.model.unet import Gen1UNet


@pytest.fixture(scope="module")
def unet(tiny):
    return tiny.unet


def inputs(b=1, f=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(b, 4, f, 8, 8, generator=g), torch.randn(b, 4, f, 8, 8, generator=g),
            torch.randn(b, 32, generator=g))


@torch.no_grad()
def test_in_image_mode_each_output_frame_depends_only_on_its_input_frame(unet):
    z, s, c = inputs()
    z2, s2 = z.clone(), s.clone()
    z2[:, :, 3] += 1.0
    s2[:, :, 3] -= 1.0
    a = unet(z, 10, c, s, video=False).sample
    b = unet(z2, 10, c, s2, video=False).sample
    for i in (0, 1, 2, 4):
        assert torch.equal(a[:, :, i], b[:, :, i])
    assert not torch.equal(a[:, :, 3], b[:, :, 3])


@torch.no_grad()
def test_in_video_mode_output_frames_depend_on_their_neighbours(unet):
    z, s, c = inputs()
    z2 = z.clone()
    z2[:, :, 3] += 1.0
    a = unet(z, 10, c, s, video=True).sample
    b = unet(z2, 10, c, s, video=True).sample
    for i in (0, 1, 2, 4):
        assert (a[:, :, i] - b[:, :, i]).abs().max() > 1e-4


@torch.no_grad()
def test_image_mode_is_the_image_unet_on_each_frame(unet):
    z, s, c = inputs(f=3)
    video_net = unet(z, 10, c, s, video=False).sample
    for i in range(3):
        x = torch.cat([z[:, :, i], s[:, :, i]], 1)
        image = unet.spatial(x, 10, encoder_hidden_states=c[:, None]).sample
        torch.testing.assert_close(video_net[:, :, i], image, rtol=1e-5, atol=1e-5)


@torch.no_grad()
def test_one_batch_can_mix_video_and_image_clips(unet):
    z, s, c = inputs(b=2)
    mixed = unet(z, 10, c, s, video=torch.tensor([True, False])).sample
    torch.testing.assert_close(mixed[:1], unet(z[:1], 10, c[:1], s[:1], video=True).sample, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(mixed[1:], unet(z[1:], 10, c[1:], s[1:], video=False).sample, rtol=1e-4, atol=1e-5)


@torch.no_grad()
def test_right_after_initialisation_from_an_image_unet_the_video_unet_equals_it_on_each_frame():
    torch.manual_seed(0)
    config = {**TINY_CONFIGS["unet"], "in_channels": 4}
    image_unet = UNet2DConditionModel(**config).eval()
    video_unet = Gen1UNet.from_unet2d(image_unet, temporal_head_dim=8).eval()
    assert video_unet.spatial.config.in_channels == 8 and video_unet.latent_channels == 4
    z, s, c = inputs(f=4)
    out = video_unet(z, 500, c, s, video=True).sample
    for i in range(4):
        expected = image_unet(z[:, :, i], 500, encoder_hidden_states=c[:, None]).sample
        torch.testing.assert_close(out[:, :, i], expected, rtol=1e-4, atol=1e-5)


def cross_attention_outputs(model: Gen1UNet, c: torch.Tensor) -> torch.Tensor:
    """What the first cross-attention layer adds at each position: (b·f)×(h·w)×d."""
    seen = []
    attn2 = next(m.attn2 for m in model.spatial.modules() if type(m).__name__ == "BasicTransformerBlock")
    hook = attn2.register_forward_hook(lambda module, args, output: seen.append(output))
    z, s, _ = inputs(f=2)
    try:
        with torch.no_grad():
            model(z, 10, c, s, video=False)
    finally:
        hook.remove()
    return seen[0]


def test_content_projected_to_tokens_reaches_each_position_differently():
    # One content token: softmax over one key, the same vector added everywhere. Tokens (image_proj):
    # each position weighs them by its own features, so an object can read another part than the floor.
    _, _, c = inputs()
    one = Gen1UNet(dict(TINY_CONFIGS["unet"]), structure_channels=4, temporal_head_dim=8).eval()
    config = {**TINY_CONFIGS["unet"], "encoder_hid_dim": 32, "encoder_hid_dim_type": "image_proj"}
    tokens = Gen1UNet(config, structure_channels=4, temporal_head_dim=8).eval()
    assert tokens.content_tokens and not one.content_tokens and tokens.content_dim == 32
    assert cross_attention_outputs(one, c).std(dim=1).max() < 1e-5
    assert cross_attention_outputs(tokens, c).std(dim=1).mean() > 1e-3


@torch.no_grad()
def test_content_added_to_the_timestep_embedding_reaches_the_prediction_without_cross_attention():
    # class_embed_type="projection" (as Stable unCLIP) feeds the content to every resnet, the
    # finest level too; with every cross-attention's output cut, only that path is left.
    z, s, c = inputs()
    config = {**TINY_CONFIGS["unet"], "class_embed_type": "projection", "projection_class_embeddings_input_dim": 32}
    plain = Gen1UNet(dict(TINY_CONFIGS["unet"]), structure_channels=4, temporal_head_dim=8).eval()
    timed = Gen1UNet(config, structure_channels=4, temporal_head_dim=8).eval()
    assert timed.content_in_time and not plain.content_in_time
    for model in (plain, timed):
        for block in (m for m in model.spatial.modules() if type(m).__name__ == "BasicTransformerBlock"):
            block.attn2.to_out[0].weight.zero_()
            block.attn2.to_out[0].bias.zero_()

    def change(model):
        return (model(z, 10, c, s).sample - model(z, 10, -c, s).sample).abs().max()

    assert change(plain) == 0
    assert change(timed) > 1e-4


def test_the_temporal_layers_use_the_paper_layouts(unet):
    assert len(unet.temporal_convs) == 2 * sum(1 for m in unet.spatial.modules() if type(m).__name__ == "ResnetBlock2D")
    assert len(unet.temporal_attentions) == sum(1 for m in unet.spatial.modules()
                                                if type(m).__name__ == "Transformer2DModel")
    seen = {}
    conv, attention = unet.temporal_convs[0], unet.temporal_attentions[0]

    def record(name):
        def hook(module, args, output):
            seen.setdefault(name, args[0].shape)
        return hook

    hooks = [conv.conv.register_forward_hook(record("conv")),
             attention.attention.register_forward_hook(record("attention"))]
    z, s, c = inputs(b=2, f=5)
    try:
        with torch.no_grad():
            unet(z, 10, c, s, video=True)
    finally:
        for h in hooks:
            h.remove()
    channels = conv.conv.in_channels
    assert seen["conv"] == (2 * 8 * 8, channels, 5)  # (b·h·w)×c×f
    assert seen["attention"][0] % 2 == 0 and seen["attention"][1:] == (5, attention.norm.normalized_shape[0])


def test_gradient_checkpointing_gives_the_gradients_of_the_plain_backward_pass_in_video_mode():
    """Checkpointed blocks run the temporal layers again in the backward pass; they must run there as
    they did in the forward (training on GPU turns checkpointing on)."""
    sample, structure, content = inputs(b=2, f=4)

    def gradients(checkpointing: bool) -> dict[str, torch.Tensor]:
        from gen1_batch.model.presets import build_tiny

        model = build_tiny(["unet"])["unet"].train()
        if checkpointing:
            model.enable_gradient_checkpointing()
        model(sample, 10, content, structure, video=torch.tensor([True, False])).sample.square().mean().backward()
        return {n: p.grad for n, p in model.named_parameters() if p.grad is not None}

    plain, checkpointed = gradients(False), gradients(True)
    assert plain.keys() == checkpointed.keys()
    assert any(n.startswith("temporal_") for n in plain)
    for name in plain:
        torch.testing.assert_close(checkpointed[name], plain[name], msg=name)


def test_a_compiled_image_unet_is_traced_once_per_mode_not_once_per_batch_of_flags():
    """`gen1 run --compile` compiles the image UNet with the temporal layers inside; the per-clip
    flags become one mode, so new batch sizes and flag tuples of the same mode reuse the graph."""
    from torch._dynamo.testing import CompileCounter

    torch._dynamo.reset()
    model = Gen1UNet.from_unet2d(UNet2DConditionModel(**{**TINY_CONFIGS["unet"], "in_channels": 4}),
                                 temporal_head_dim=8).eval()
    counter = CompileCounter()
    model.spatial.compile(backend=counter)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for clips, video in ((2, True), (3, True), (5, True), (4, False), (7, False), (2, True)):
            x = torch.randn(clips, 4, 4, 8, 8, generator=g)
            model(x, 10, torch.randn(clips, 32, generator=g), torch.randn(clips, 4, 4, 8, 8, generator=g),
                  video=torch.full((clips,), video))
    # first shapes, then one dynamic-batch graph for each mode: no graph per batch size or flag tuple
    assert counter.frame_count <= 4
    torch._dynamo.reset()
