import itertools
import math

import pytest
import torch

from gen1_batch.model.structure import normalize_depth, obscure_depth


def detail(x: torch.Tensor) -> float:
    """High-frequency energy: mean squared difference between neighbouring pixels."""
    return float((x[..., 1:, :] - x[..., :-1, :]).pow(2).mean() + (x[..., :, 1:] - x[..., :, :-1]).pow(2).mean())


def depth_maps(size=128):
    g = torch.Generator().manual_seed(0)
    y, x = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    scene = 0.5 * x + 0.3 * (((x - 0.5) ** 2 + (y - 0.4) ** 2) < 0.05).float()
    scene = scene + 0.2 * torch.sin(40 * math.pi * x) * torch.sin(30 * math.pi * y)  # fine texture
    return (scene + 0.05 * torch.rand(3, size, size, generator=g)).clamp(0, 1)


def test_level_zero_is_the_identity():
    d = depth_maps()
    assert torch.equal(obscure_depth(d, 0), d)


def test_detail_falls_with_every_level():
    d = depth_maps(256)
    levels = [detail(obscure_depth(d, t)) for t in range(8)]
    assert all(a > b for a, b in itertools.pairwise(levels)), levels


def test_obscuring_keeps_size_and_range():
    d = depth_maps(40)[:, :, :24]
    for t in range(8):
        out = obscure_depth(d, t)
        assert out.shape == d.shape
        assert out.min() >= d.min() - 1e-5 and out.max() <= d.max() + 1e-5


def test_small_maps_survive_every_level():
    assert obscure_depth(torch.rand(2, 8, 4), 7).shape == (2, 8, 4)


def test_levels_outside_0_to_7_are_refused():
    with pytest.raises(ValueError, match=r"0\.\.7"):
        obscure_depth(depth_maps(), 8)


def test_depth_is_normalised_over_the_whole_shot():
    d = torch.stack([torch.full((4, 4), 2.0), torch.full((4, 4), 6.0)])
    n = normalize_depth(d)
    assert n[0].max() == 0 and n[1].min() == 1  # one scale for the shot, not per frame
    assert torch.equal(normalize_depth(torch.ones(2, 3, 3)), torch.zeros(2, 3, 3))
