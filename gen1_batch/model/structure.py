"""Structure: per-shot depth normalisation and the paper's obscuring by t_s blur-and-downsample levels."""

from __future__ import annotations

import torch
import torch.nn.functional as F

MAX_STRUCTURE_LEVEL = 7


def normalize_depth(depth: torch.Tensor) -> torch.Tensor:
    """Scale a shot's depth (f×h×w, any units) to [0, 1] with one min and max for the whole shot,
    so depth stays comparable from frame to frame."""
    lo, hi = depth.amin(), depth.amax()
    if hi - lo < 1e-8:
        return torch.zeros_like(depth)
    return (depth - lo) / (hi - lo)


def _gaussian_kernel(sigma: float, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    radius = max(1, round(2 * sigma))
    x = torch.arange(-radius, radius + 1, device=device, dtype=dtype)
    k = torch.exp(-(x**2) / (2 * sigma**2))
    return k / k.sum()


def blur(x: torch.Tensor, sigma: float = 1.0) -> torch.Tensor:
    """Separable Gaussian blur of n×1×h×w maps, reflecting at the borders."""
    k = _gaussian_kernel(sigma, x.device, x.dtype)
    r = k.numel() // 2
    pad_w = min(r, x.shape[-1] - 1)
    pad_h = min(r, x.shape[-2] - 1)
    if pad_w > 0:
        x = F.conv1d(F.pad(x.flatten(0, 2), (pad_w, pad_w), mode="reflect").unsqueeze(1),
                     k[None, None, r - pad_w: r + pad_w + 1]).view(x.shape)
    if pad_h > 0:
        xt = x.transpose(-1, -2)
        xt = F.conv1d(F.pad(xt.flatten(0, 2), (pad_h, pad_h), mode="reflect").unsqueeze(1),
                      k[None, None, r - pad_h: r + pad_h + 1]).view(xt.shape)
        x = xt.transpose(-1, -2)
    return x


def obscure_depth(depth: torch.Tensor, level: int) -> torch.Tensor:
    """Remove detail from depth maps (…×h×w): `level` times blur then halve the size, then resize back.

    Level 0 returns the input unchanged; each further level keeps only coarser shapes, which gives
    the prompt more freedom over the source's structure (the paper's t_s).
    """
    if not 0 <= level <= MAX_STRUCTURE_LEVEL:
        raise ValueError(f"structure level t_s must be 0..{MAX_STRUCTURE_LEVEL}, got {level}")
    if level == 0:
        return depth
    shape = depth.shape
    h, w = shape[-2:]
    x = depth.reshape(-1, 1, h, w)
    for _ in range(level):
        x = blur(x)
        if min(x.shape[-2:]) > 1:
            x = F.avg_pool2d(x, kernel_size=2, ceil_mode=True)
    x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)
    return x.reshape(shape)
