"""Temporal and content guidance (Esser et al. 2023, eq. 4).

    ε̃ = ε^π(z,∅,s) + ω_t·[ε(z,∅,s) − ε^π(z,∅,s)] + ω·[ε(z,c,s) − ε(z,∅,s)]

ε is the video model, ε^π the same network in image mode (each frame alone), c the content and ∅
the null content; ω = content_scale, ω_t = temporal_scale. Expanded, the guided prediction is a
weighted sum of the three passes,

    ε̃ = (1 − ω_t)·ε^π(∅) + (ω_t − ω)·ε(∅) + ω·ε(c),

so a pass whose weight is exactly zero need not run (ε^π at ω_t = 1, the usual case), and
skipping it gives the bit-identical result.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class GuidancePass:
    """One network evaluation of a step: video or image mode, with the content or the null content."""

    video: bool
    content: bool


VIDEO_CONTENT = GuidancePass(video=True, content=True)
VIDEO_NULL = GuidancePass(video=True, content=False)
IMAGE_NULL = GuidancePass(video=False, content=False)


def guidance_weights(content_scale: float, temporal_scale: float) -> dict[GuidancePass, float]:
    """The weight of each pass in ε̃; passes with weight zero are left out."""
    weights = {
        VIDEO_CONTENT: content_scale,
        VIDEO_NULL: temporal_scale - content_scale,
        IMAGE_NULL: 1.0 - temporal_scale,
    }
    return {p: w for p, w in weights.items() if w != 0.0}


def combine(predictions: dict[GuidancePass, torch.Tensor], weights: dict[GuidancePass, float]) -> torch.Tensor:
    """ε̃ from the passes' predictions, summed in a fixed order so results are reproducible.

    The weights always sum to 1, so at least one pass is present.
    """
    terms = [weights[p] * predictions[p] for p in (VIDEO_CONTENT, VIDEO_NULL, IMAGE_NULL) if p in weights]
    return sum(terms[1:], terms[0])


def guided_prediction_reference(eps_video_content: torch.Tensor, eps_video_null: torch.Tensor,
                                eps_image_null: torch.Tensor, content_scale: float,
                                temporal_scale: float) -> torch.Tensor:
    """The paper's equation as written, for checking `combine` against."""
    return (eps_image_null + temporal_scale * (eps_video_null - eps_image_null)
            + content_scale * (eps_video_content - eps_video_null))
