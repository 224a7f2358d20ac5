"""`gen1 edit`: one video, without Ray, through the same model code as `gen1 run`."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from gen1_batch import storage
from gen1_batch.cli.common import ModelOpt, check_output, fail, log, out
from gen1_batch.manifest import JobDefaults

app = typer.Typer()  # its commands join the top level (gen1_batch.cli)

@app.command()
def edit(
    video: Annotated[str, typer.Argument(help="Source movie or image sequence (plate.####.exr), path or URL.")],
    output: Annotated[str, typer.Option("--output", "-o", help="Output: a .mp4 (H.264), a .mov (ProRes 422 HQ) or "
                                                               "a sequence pattern (out.####.png, out.####.exr).")],
    prompt: Annotated[str | None, typer.Option(help="Text prompt.")] = None,
    image_prompt: Annotated[str | None, typer.Option(help="Reference image (path or URL).")] = None,
    negative_prompt: Annotated[str | None, typer.Option(help="Negative prompt.")] = None,
    structure: Annotated[int, typer.Option(min=0, max=7, help="t_s (0-7).")] = JobDefaults.structure,
    content_scale: Annotated[float, typer.Option(min=0, help="ω.")] = JobDefaults.content_scale,
    temporal_scale: Annotated[float, typer.Option(min=0, help="ω_t.")] = JobDefaults.temporal_scale,
    steps: Annotated[int | None, typer.Option(min=1, help="Steps (default: the model's).")] = None,
    seed: Annotated[int, typer.Option(min=0, help="Noise seed.")] = 0,
    frame_start: Annotated[int | None, typer.Option(min=0, help="First frame (inclusive).")] = None,
    frame_end: Annotated[int | None, typer.Option(min=0, help="Last frame (inclusive).")] = None,
    fps: Annotated[str | None, typer.Option(help="Frame rate of a sequence source (24, 24000/1001).")] = None,
    timecode: Annotated[str | None, typer.Option(help="Timecode of the first frame, if the source has none.")] = None,
    width: Annotated[int | None, typer.Option(help="Working width.")] = None,
    height: Annotated[int | None, typer.Option(help="Working height.")] = None,
    window: Annotated[int | None, typer.Option(min=1, help="Frames per window (default: the model's).")] = None,
    window_stride: Annotated[int | None, typer.Option(min=1, help="Window stride (default: half).")] = None,
    window_blend: Annotated[str, typer.Option(help="pyramid, flat or gaussian.")] = "pyramid",
    window_shift: Annotated[bool, typer.Option("--window-shift/--no-window-shift",
                                               help="Move window boundaries each step.")] = True,
    free_noise: Annotated[bool, typer.Option("--free-noise/--no-free-noise", help="FreeNoise noise.")] = False,
    damaged_frames: Annotated[str, typer.Option(help="A frame that cannot be decoded: fail, nearest (good frame) "
                                                     "or black.")] = JobDefaults.damaged_frames,
    retime: Annotated[bool, typer.Option("--retime", help="Accept writing a variable-frame-rate movie to a sequence "
                                                          "at a constant rate.")] = JobDefaults.retime,
    model: ModelOpt = "tiny",
    device: Annotated[str | None, typer.Option(help="cpu or cuda.")] = None,
) -> None:
    """Edit one video, without Ray: the same model code as `gen1 run` uses for each shot."""
    from gen1_batch.media import MediaError, check_timing, read_image, read_video, write_movie, write_sequence
    from gen1_batch.media.damage import DAMAGED_FRAME_MODES
    from gen1_batch.media.sequence import frames_on_disk, is_sequence, parse
    from gen1_batch.media.timecode import parse_rate
    from gen1_batch.model.loading import ModelNotFound, describe_model
    from gen1_batch.report.schema import media_notes
    from gen1_batch.safety import edit_collisions

    if prompt is None and image_prompt is None:
        raise fail("give --prompt, --image-prompt or both")
    overwritten = edit_collisions([s for s in (video, image_prompt) if s], output)
    if overwritten:
        raise fail(f"--output {output} would overwrite its source {overwritten[0]}")
    if damaged_frames not in DAMAGED_FRAME_MODES:
        raise fail(f"--damaged-frames must be one of {', '.join(DAMAGED_FRAME_MODES)}, got {damaged_frames!r}")
    suffix = output.rsplit(".", 1)[-1].lower()
    formats = {"png": "png", "exr": "exr"} if is_sequence(output) else {"mp4": "mp4", "mov": "prores"}
    output_format = formats.get(suffix)
    if output_format is None:
        raise fail(f"--output {output}: use a .mp4, a .mov or a .png / .exr sequence pattern such as out.####.exr")
    scales = JobDefaults().replace(content_scale=content_scale, temporal_scale=temporal_scale).problems()
    if scales:  # the manifest's rules (finite numbers)
        raise fail(f"--{scales[0].column.replace('_', '-')}: {scales[0].reason.removeprefix('job default: ')}")
    check_output(output, folder=False)
    try:  # the inputs before the model: a bad source is said at once
        settings = describe_model(model).settings
        frames, info = read_video(video, frame_start, frame_end, size=(width, height),
                                  side=settings["default_resolution"], multiple=settings["resolution_multiple"],
                                  fps=parse_rate(fps) if fps else None, timecode=timecode,
                                  damaged_frames=damaged_frames)
        check_timing(info, output_format, retime)
        reference = read_image(image_prompt) if image_prompt else None
        from gen1_batch.api import cached_pipeline  # torch: seconds to import, so after the checks
        from gen1_batch.api import edit as edit_frames

        pipe = cached_pipeline(model, device)
        windows = pipe.window_spec(window, window_stride, window_blend, window_shift, free_noise)
    except (MediaError, ModelNotFound) as e:
        raise fail(str(e), 1) from None
    except ValueError as e:
        raise fail(str(e)) from None
    t0 = time.monotonic()
    with log.status(f"editing {info.frames} frames at {frames.shape[2]}x{frames.shape[1]}"):
        edited = edit_frames(frames, prompt, reference, negative_prompt=negative_prompt, structure=structure,
                             content_scale=content_scale, temporal_scale=temporal_scale, steps=steps, seed=seed,
                             window=windows, model=model, device=device)
    if output_format in ("png", "exr"):
        target = parse(storage.absolute(output))
        result = write_sequence(edited, target, info, output_format)
        others = sorted(set(frames_on_disk(target)) - set(range(result["frame_start"], result["frame_end"] + 1)))
        if others:  # not provably this command's: never removed
            log.print(f"note: {target.pattern()} also has frames {others[0]}-{others[-1]} that this edit did "
                      "not write; they are left as they are", soft_wrap=True)
    else:
        result = write_movie(edited, storage.absolute(output), info, output_format)
    out.print(f"[green]wrote[/] {result['url']}: {result['frames']} frames at {result['fps']} fps, "
              f"{result['width']}x{result['height']} in {time.monotonic() - t0:.1f} s")
    for note in media_notes(damaged_frames, info.to_dict(), result):
        out.print(f"  [yellow]note[/]: {note}", soft_wrap=True)

