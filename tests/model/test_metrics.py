"""The metrics' defining properties, on the tiny model's CLIP and synthetic clips."""

import numpy as np
import pytest

from gen1_batch.media.synthetic import synthetic_frames
from gen1_batch.model.metrics import frame_consistency, prompt_consistency, structure_error


def test_identical_frames_have_frame_consistency_one(tiny):
    still = np.repeat(synthetic_frames(1, 64, 48)[:1], 6, axis=0)
    assert frame_consistency(tiny.embed_frames(still)) == pytest.approx(1.0, abs=1e-6)
    assert frame_consistency(tiny.embed_frames(still[:1])) is None  # a single frame has no neighbour


def test_a_shuffled_clip_scores_lower_than_the_original(tiny):
    clip = synthetic_frames(24, 64, 48, seed=3)
    shuffled = clip[np.random.default_rng(0).permutation(len(clip))]
    assert frame_consistency(tiny.embed_frames(shuffled)) < frame_consistency(tiny.embed_frames(clip))


def test_structure_error_is_zero_for_the_same_depth_up_to_scale_and_shift():
    depth = np.random.default_rng(0).random((4, 16, 16))
    assert structure_error(depth, depth) == pytest.approx(0, abs=1e-12)
    assert structure_error(depth, 3 * depth + 0.5) == pytest.approx(0, abs=1e-12)  # relative depth
    assert structure_error(depth, np.random.default_rng(1).random((4, 16, 16))) > 0.1


def test_depth_with_near_and_far_swapped_scores_no_better_than_a_flat_map():
    depth = np.random.default_rng(0).random((4, 16, 16))
    flat = structure_error(depth, np.zeros_like(depth) + 0.5)
    assert structure_error(depth, 1 - depth) == pytest.approx(flat)  # a fitted negative scale hid this
    assert flat > 0.2


def test_prompt_consistency_is_highest_for_the_prompt_itself():
    target = np.array([1.0, 0.0, 0.0])
    assert prompt_consistency(np.array([[2.0, 0, 0], [5.0, 0, 0]]), target) == pytest.approx(1.0)
    assert prompt_consistency(np.array([[0.0, 1, 0]]), target) == pytest.approx(0.0)
