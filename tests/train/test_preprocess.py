from gen1_batch.train.data import TrainingRow
from gen1_batch.train.objective import IMAGE, VIDEO, is_image_step
from gen1_batch.train.preprocess import SamplePlan
from gen1_batch.train.recipe import DataSpec, Recipe


def plan_of(**changes) -> SamplePlan:
    videos = tuple(TrainingRow(i, "video", f"v{i}.mp4", "c") for i in range(5))
    images = tuple(TrainingRow(5 + i, "image", f"i{i}.png", "c") for i in range(3))
    recipe = Recipe("r", "d", "tiny", ("all",), 40, batch_size=2, data=DataSpec(image_probability=0.5), **changes)
    return SamplePlan(recipe, videos, images, 1, 1000)


def test_image_steps_take_image_batch_size_samples_and_the_video_steps_draw_as_before():
    plain, wide = plan_of(), plan_of(image_batch_size=6)
    image_steps = [s for s in range(40) if is_image_step(0, s, 0.5)]
    assert 0 < len(image_steps) < 40
    for step in range(40):
        before, after = plain.draws(step, 0), wide.draws(step, 0)
        if step in image_steps:
            assert len(before) == 2 and len(after) == 6 and {d.kind for d in after} == {IMAGE}
            assert after[:2] == before  # the extra images are new slots; the first ones are unchanged
            assert {d.row for d in after} <= set(range(3))
        else:
            assert after == before and len(after) == 2 and {d.kind for d in after} == {VIDEO}
    items = wide.items(0, 0)
    assert len(items) == 6 * len(image_steps) + 2 * (40 - len(image_steps))  # one row per sample, in step order
