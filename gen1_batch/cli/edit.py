"""`gen1 edit`: one video, without Ray, through the same model code as `gen1 run`."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from gen1_batch import storage
from gen1_batch.cli.common import ModelOpt, OcioOpt, check_output, fail, log, out
from gen1_batch.cli.options import column_options
from gen1_batch.manifest import Problem, check_row, model_problems
from gen1_batch.model.settings import DEFAULT_MODEL
from gen1_batch.shot import COLUMNS, job_defaults, resolve

app = typer.Typer()  # its commands join the top level (gen1_batch.cli)

# Every column of a manifest row but the ones the command itself gives: its video, its output's
# format (from --output) and its seed (no shot id to hash: 0 unless given).
EDIT_COLUMNS = tuple(c for c in COLUMNS if c not in ("shot_id", "video", "output_format", "seed"))


@app.command()
@column_options(EDIT_COLUMNS)
def edit(
    video: Annotated[str, typer.Argument(help="Source movie or image sequence (plate.####.exr), path or URL.")],
    output: Annotated[str, typer.Option("--output", "-o", help="Output: a .mp4 (H.264), a .mov (ProRes 422 HQ) or "
                                                               "a sequence pattern (out.####.exr, .png, .dpx, .tif).")],
    seed: Annotated[int, typer.Option(help="Noise seed.")] = 0,
    model: ModelOpt = DEFAULT_MODEL,
    ocio: OcioOpt = None,
    device: Annotated[str | None, typer.Option(help="cpu or cuda.")] = None,
    columns: dict[str, Any] | None = None,
) -> None:
    """Edit one video, without Ray: the same model code, and the same checks of its values, as
    `gen1 run` uses for each shot."""
    from gen1_batch.media import MediaError, check_timing, read_image, read_video, write_movie, write_sequence
    from gen1_batch.media.formats import FORMATS
    from gen1_batch.media.sequence import frames_on_disk, is_sequence, parse
    from gen1_batch.media.timecode import parse_rate
    from gen1_batch.model.loading import ModelNotFound, describe_model
    from gen1_batch.report.schema import media_notes
    from gen1_batch.safety import edit_collisions
    from gen1_batch.stages.common import quiet_model_logs

    given = {k: v for k, v in (columns or {}).items() if v is not None}
    values, problems = check_row(0, {**given, "shot_id": "edit", "video": video, "seed": seed})
    if problems:
        raise fail(_as_option(problems[0]))
    overwritten = edit_collisions([s for s in (video, values.get("image_prompt")) if s], output)
    if overwritten:
        raise fail(f"--output {output} would overwrite its source {overwritten[0]}")
    suffix = output.rsplit(".", 1)[-1].lower()
    formats = {f.extension[1:]: name for name, f in FORMATS.items() if f.sequence == is_sequence(output)}
    output_format = formats.get("tif" if suffix == "tiff" else suffix)
    if output_format is None:
        sequences = " / ".join(f.extension for f in FORMATS.values() if f.sequence)
        raise fail(f"--output {output}: use a .mp4, a .mov or a {sequences} sequence pattern such as out.####.exr")
    check_output(output, folder=False)
    try:
        settings = describe_model(model).settings
    except ModelNotFound as e:
        raise fail(str(e), 1) from None
    shot = resolve(values, job_defaults(settings))
    from gen1_batch.manifest import colour_problems
    from gen1_batch.media.colour import Colour, ColourError

    try:
        problems = model_problems(None, shot, settings) + colour_problems(None, shot, ocio)
    except ColourError as e:  # the config itself
        raise fail(str(e)) from None
    if problems:
        raise fail(_as_option(problems[0]))
    try:  # the inputs before the model: a bad source is said at once
        frames, info = read_video(video, shot.frame_start, shot.frame_end, size=(shot.width, shot.height),
                                  side=settings["default_resolution"], multiple=settings["resolution_multiple"],
                                  fps=parse_rate(shot.fps) if shot.fps else None, timecode=shot.timecode,
                                  damaged_frames=shot.damaged_frames,
                                  colour=Colour.resolve(ocio, shot.colorspace, shot.view, video))
        check_timing(info, output_format, shot.retime)
        reference = read_image(shot.image_prompt) if shot.image_prompt else None
        from gen1_batch.api import cached_pipeline  # torch: seconds to import, so after the checks
        from gen1_batch.api import edit as edit_frames

        quiet_model_logs()  # cast notices and loading bars say nothing a user can act on
        pipe = cached_pipeline(model, device)
        windows = pipe.window_spec(shot.window, shot.window_stride, shot.window_blend, shot.window_shift,
                                   shot.free_noise)
    except (MediaError, ModelNotFound) as e:
        raise fail(str(e), 1) from None
    except ValueError as e:
        raise fail(str(e)) from None
    t0 = time.monotonic()
    with log.status(f"editing {info.frames} frames at {frames.shape[2]}x{frames.shape[1]}"):
        edited = edit_frames(frames, shot.prompt, reference, negative_prompt=shot.negative_prompt,
                             structure=shot.structure, content_scale=shot.content_scale,
                             temporal_scale=shot.temporal_scale, steps=shot.steps, seed=shot.seed, window=windows,
                             model=model, device=device)
    if FORMATS[output_format].sequence:
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
    for note in media_notes(shot.damaged_frames, info.to_dict(), result):
        out.print(f"  [yellow]note[/]: {note}", soft_wrap=True)



def _as_option(problem: Problem) -> str:
    """A problem of a value given as an option, named by its option (--content-scale: …)."""
    return f"--{problem.column.replace('_', '-')}: {problem.reason}" if problem.column else problem.reason
