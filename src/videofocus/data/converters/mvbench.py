"""MVBench (OpenGVLab/MVBench on Hugging Face): one JSON list per task in `json/`
(`action_sequence.json`, ...), records `{"video", "question", "candidates": [...], "answer": text}`
plus `start`/`end` (seconds) for the tasks that ask about one segment.

--input is one task file or the `json/` folder (every task). Media paths are the task's folder
under MVBench's `video/` root, as in the official evaluation (`star/Charades_v1_480/X.mp4`), so the
media root at run time is `video/`. Episodic reasoning ships frame folders (3 fps): with
--media-root (MVBench's `video/`) and --write-videos DIR they are encoded to `DIR/<name>.mp4` and
referenced by absolute path (existing files are kept, so an interrupted run resumes); without,
those records are refused. The source is `mvbench/TASK`, so `videofocus score` reports each task's
accuracy (`Acc/action_sequence`, …) beside the overall one, as MVBench's tables do.

Segments as the official evaluation uses them: the tasks with `start`/`end` (action_sequence,
action_prediction, object_interaction, action_localization, episodic_reasoning) are evaluated on
frames inside [start, end] only, so the sample's media carries that segment (`media.start` /
`media.end`, the end clipped to the video where its duration is known) and the model is shown that
part alone (`media.video.trim`), its times counted from the segment's start. The bound as given stays
in meta `bound_start` / `bound_end`. (The released VideoChat-R1.5 MVBench script shows the whole
video: docs/protocols.md.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from videofocus.data.converters.common import (ConvertOptions, Converter, Where, answer_letter, checked_intervals,
                                               convert_each, get_field, iter_json_records, make_sample,
                                               to_float)
from videofocus.data.converters.frames import encode_frames, list_frames
from videofocus.errors import DataError
from videofocus.schema import Sample

SOURCE = "mvbench"
# Task file -> media folder under `video/` and whether the media is a frame folder, from the
# official evaluation's data_list.
TASKS: dict[str, tuple[str, bool]] = {
    "action_sequence": ("star/Charades_v1_480/", False),
    "action_prediction": ("star/Charades_v1_480/", False),
    "action_antonym": ("ssv2_video/", False),
    "fine_grained_action": ("Moments_in_Time_Raw/videos/", False),
    "unexpected_action": ("FunQA_test/test/", False),
    "object_existence": ("clevrer/video_validation/", False),
    "object_interaction": ("star/Charades_v1_480/", False),
    "object_shuffle": ("perception/videos/", False),
    "moving_direction": ("clevrer/video_validation/", False),
    "action_localization": ("sta/sta_video/", False),
    "scene_transition": ("scene_qa/video/", False),
    "action_count": ("perception/videos/", False),
    "moving_count": ("clevrer/video_validation/", False),
    "moving_attribute": ("clevrer/video_validation/", False),
    "state_change": ("perception/videos/", False),
    "fine_grained_pose": ("nturgbd/", False),
    "character_order": ("perception/videos/", False),
    "egocentric_navigation": ("vlnqa/", False),
    "episodic_reasoning": ("tvqa/frames_fps3_hq/", True),
    "counterfactual_inference": ("clevrer/video_validation/", False),
}
FRAME_FOLDER_FPS = 3.0


def convert(options: ConvertOptions) -> Iterator[Sample]:
    source = options.source_or(SOURCE)
    for task_file in _task_files(options.input):
        task = task_file.stem
        folder, is_frames = TASKS.get(task, ("", False))

        def to_samples(where: Where, item: tuple[int, dict], task=task, folder=folder,
                       is_frames=is_frames) -> list[Sample]:
            index, record = item
            video = get_field(record, "video", where, str)
            media_path, duration = (_encoded_frames(folder, video, options, where) if is_frames
                                    else (options.media_path(folder + video), None))
            candidates = [str(text).strip() for text in get_field(record, "candidates", where, list)]
            bound = _bound(record, where)
            return [make_sample(
                where, id=f"{source}/{task}/{index}", task="mcq", source=f"{source}/{task}",
                media={"type": "video", "path": media_path, "duration": duration, **_segment(bound, duration, where)},
                question=get_field(record, "question", where, str).strip(), options=candidates,
                answer=answer_letter(get_field(record, "answer", where), candidates, where, "answer"),
                meta={"task": task, **bound})]

        records = ((where, (index, record)) for index, (where, record) in enumerate(iter_json_records(task_file)))
        yield from convert_each(records, to_samples, options)


def _task_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(path.glob("*.json"))
        if not files:
            raise DataError("folder holds no MVBench task .json files", path=str(path))
        return files
    return [path]


def _bound(record: dict, where: Where) -> dict[str, float]:
    """The official evaluation's segment as given, {} for tasks without one."""
    if record.get("start") is None or record.get("end") is None:
        return {}
    return {"bound_start": to_float(record["start"], where, "start"),
            "bound_end": to_float(record["end"], where, "end")}


def _segment(bound: dict[str, float], duration: float | None, where: Where) -> dict[str, float]:
    """The bound as the media's segment (`start`, `end`), clipped to the video; {} for tasks without one."""
    if not bound:
        return {}
    [[start, end]] = checked_intervals([[bound["bound_start"], bound["bound_end"]]], duration, where, "end",
                                       clip_to_duration=True)
    return {"start": start, "end": end}


def _encoded_frames(folder: str, video: str, options: ConvertOptions, where: Where) -> tuple[str, float]:
    """Encode a frame folder (once) and return the video's media path and duration."""
    if options.media_root is None or options.write_videos is None:
        raise where.error("this task's media is a frame folder: give --media-root (MVBench's video/) and "
                          "--write-videos DIR to encode it as an mp4", "video")
    frames = list_frames(options.media_root / folder / video)
    name = f"{video.rstrip('/')}.mp4"
    out_path = options.write_videos / name
    if not out_path.is_file():
        encode_frames(frames, FRAME_FOLDER_FPS, out_path)
    # Absolute: the other tasks' paths are relative to MVBench's video/, these are not under it.
    return str(out_path.resolve()), len(frames) / FRAME_FOLDER_FPS


CONVERTER = Converter(
    name=SOURCE,
    summary="MVBench json/<task>.json, or the json/ folder",
    convert=convert,
    accepts=frozenset({"media_root", "write_videos"}),
)
