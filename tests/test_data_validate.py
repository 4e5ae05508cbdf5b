"""`validate_file`: every problem with its line and field, declared and real media checks."""

from __future__ import annotations

import json

import av
import numpy as np
import pytest
from data_helpers import make_image, make_video, mcq_record, sample_record, write_jsonl, write_text

import videofocus.data.validate as validate_module
from videofocus.data.validate import clue_problems, read_image_facts, validate_file
from videofocus.schema import Clue


def _problems(report) -> list[tuple[int, str | None]]:
    return [(error.line, error.field) for error in report.errors]


def test_reports_every_bad_line_not_just_the_first(tmp_path):
    lines = [
        json.dumps(sample_record(id="a")),
        "{broken",
        json.dumps(mcq_record(id="b", answer="Z")),
        json.dumps(sample_record(id="a")),
        json.dumps(sample_record(id="c", clue={"intervals": [[12.0, 14.0]]})),
        "",
        json.dumps(sample_record(id="d", task="unknown")),
    ]
    path = write_text(tmp_path / "s.jsonl", "\n".join(lines) + "\n")
    report = validate_file(path)
    assert not report.ok
    assert report.samples == 3  # lines 1, 4 and 5 parse as samples
    assert _problems(report) == [(2, None), (3, "answer"), (4, "id"), (5, "clue.intervals.0"), (7, "task")]
    assert "first on line 1" in str(report.errors[2])
    assert "starts after the video (10.00 s as declared)" in str(report.errors[3])
    assert all(str(error).startswith(f"{path}:") for error in report.errors)


def test_error_list_is_capped_but_all_are_counted(tmp_path):
    path = write_jsonl(tmp_path / "s.jsonl", [mcq_record(id=f"q{i}", answer="Z") for i in range(7)])
    report = validate_file(path, max_errors=3)
    assert (report.error_count, len(report.errors)) == (7, 3)


def test_clean_file_passes(tmp_path):
    report = validate_file(write_jsonl(tmp_path / "s.jsonl", [sample_record(id="a"), mcq_record(id="b")]))
    assert report.ok and report.samples == 2 and report.errors == []


def test_clue_problems_tolerate_rounding_only():
    clue = Clue(intervals=[(10.4, 11.0), (10.6, 11.0), (0.0, 14.0)])  # an end past the video is no error
    assert [field for _, field in clue_problems(clue, 10.0, None, None, "x")] == ["clue.intervals.1"]
    boxes = Clue(boxes=[[0, 0, 40.5, 30], [-3, 0, 5, 5], [0, 0, 42, 10]])
    assert [field for _, field in clue_problems(boxes, None, 40, 30, "x")] == ["clue.boxes.1", "clue.boxes.2"]
    track = Clue(track=[{"t": 0.0, "box": [0, 0, 1, 1]}, {"t": 12.0, "box": [0, 0, 50, 1]}])
    assert [field for _, field in clue_problems(track, 10.0, 40, 30, "x")] == [
        "clue.track.1.t", "clue.track.1.box"]


def test_check_media_against_the_real_files(tmp_path):
    make_video(tmp_path / "media" / "v.mp4", frames=10, fps=5.0, width=32, height=24)  # 2 s
    make_image(tmp_path / "media" / "i.jpg", 40, 30)
    (tmp_path / "media" / "broken.mp4").write_bytes(b"not a video at all")
    image = {"type": "image", "path": "i.jpg"}
    records = [
        sample_record(id="ok", media={"type": "video", "path": "v.mp4"}, clue={"intervals": [[0.5, 1.5]]}),
        sample_record(id="late", media={"type": "video", "path": "v.mp4"}, clue={"intervals": [[4.5, 5.0]]}),
        sample_record(id="dur", media={"type": "video", "path": "v.mp4", "duration": 9.0}, clue=None),
        sample_record(id="size", media={"type": "video", "path": "v.mp4", "width": 64}, clue=None),
        sample_record(id="gone", media={"type": "video", "path": "missing.mp4"}, clue=None),
        sample_record(id="junk", media={"type": "video", "path": "broken.mp4"}, clue=None),
        sample_record(id="box", task="spatial_grounding", media=image, clue={"boxes": [[10, 10, 45, 20]]}),
        sample_record(id="img", task="spatial_grounding", media=image, clue={"boxes": [[10, 10, 39, 29]]}),
    ]
    path = write_jsonl(tmp_path / "s.jsonl", records)
    report = validate_file(path, media_root=tmp_path / "media", check_media=True)
    assert _problems(report) == [(2, "clue.intervals.0"), (3, "media.duration"), (4, "media.width"),
                                 (5, "media.path"), (6, "media.path"), (7, "clue.boxes.0")]
    assert "in the media file" in str(report.errors[0])
    assert "media file not found" in str(report.errors[3])
    assert "cannot read video" in str(report.errors[4])


def test_check_media_defaults_to_the_files_folder_and_opens_each_file_once(tmp_path, monkeypatch):
    make_video(tmp_path / "v.mp4")
    calls = []
    real = validate_module.read_video_facts
    monkeypatch.setattr(validate_module, "read_video_facts", lambda path: calls.append(path) or real(path))
    path = write_jsonl(tmp_path / "s.jsonl", [sample_record(id=f"s{i}", media={"type": "video", "path": "v.mp4"},
                                                             clue={"intervals": [[0.5, 1.5]]}) for i in range(3)])
    report = validate_file(path, check_media=True)
    assert report.ok and len(calls) == 1


@pytest.mark.parametrize(("orientation", "size"), [(None, (40, 30)), (6, (30, 40)), (3, (40, 30))])
def test_image_size_is_the_displayed_size(tmp_path, orientation, size):
    facts = read_image_facts(make_image(tmp_path / "i.jpg", 40, 30, exif_orientation=orientation))
    assert (facts.width, facts.height, facts.duration) == (*size, None)


def _noise_mp4(path, seconds: int = 10, fps: int = 10):
    """An H.264 mp4 of noise (every frame is large), index first (faststart), as web videos are."""
    with av.open(str(path), mode="w", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        rng = np.random.default_rng(0)
        for _ in range(seconds * fps):
            pixels = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
        container.mux(stream.encode())
    return path


def test_check_media_catches_a_video_cut_short_after_its_header(tmp_path):
    data = _noise_mp4(tmp_path / "v.mp4").read_bytes()
    (tmp_path / "v.mp4").write_bytes(data[: len(data) * 2 // 5])  # the header still says 10 s
    path = write_jsonl(tmp_path / "s.jsonl", [sample_record(id="cut", media={"type": "video", "path": "v.mp4"},
                                                             clue=None)])
    report = validate_file(path, check_media=True)
    assert _problems(report) == [(1, "media.path")]
    assert "truncated: the header says 10.00 s but the frames end at" in str(report.errors[0])


def test_check_media_decodes_the_last_keyframe_run(tmp_path):
    data = bytearray(_noise_mp4(tmp_path / "v.mp4").read_bytes())
    data[len(data) * 9 // 10:] = bytes(len(data) - len(data) * 9 // 10)  # the end zeroed: same length, same header
    (tmp_path / "v.mp4").write_bytes(bytes(data))
    path = write_jsonl(tmp_path / "s.jsonl", [sample_record(id="bad end", media={"type": "video", "path": "v.mp4"},
                                                             clue=None)])
    report = validate_file(path, check_media=True)
    assert _problems(report) == [(1, "media.path")]
    assert "damaged or truncated" in str(report.errors[0])


def test_summary_counts_add_up(tmp_path):
    records = [sample_record(id="a"), mcq_record(id="b", answer="Z"), sample_record(id="c"),
               sample_record(id="d", clue={"intervals": [[11.0, 14.0], [12.0, 15.0]]})]  # start after the video
    path = write_text(tmp_path / "s.jsonl", "\n".join(json.dumps(record) for record in records) + "\n{broken\n")
    report = validate_file(path)
    assert (report.lines, report.samples, report.lines_with_errors, report.error_count) == (5, 3, 3, 4)
    assert report.summary() == "3 of 5 line(s) with errors (4 error(s) in all), 2 OK"
