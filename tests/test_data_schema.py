"""The sample schema: every rule, error messages that name file, line and field, JSONL round trip,
atomic writing."""

from __future__ import annotations

import json
import os
import stat

import pytest
from data_helpers import mcq_record, sample_record, write_text
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from videofocus.errors import DataError
from videofocus.jsonfiles import iter_jsonl
from videofocus.predictions import load_predictions
from videofocus.schema import TASKS, Sample, parse_sample, read_samples, sample_to_json, write_samples
from videofocus.storage import atomic_writer


def _error(record: dict) -> DataError:
    with pytest.raises(DataError) as caught:
        parse_sample(record, path="data.jsonl", line=7)
    return caught.value


@pytest.mark.parametrize(("record", "field", "words"), [
    (sample_record(clue={"intervals": [[5.0, 2.0]]}), "clue.intervals", "ends before it starts"),
    (sample_record(clue={"intervals": [[-1.0, 2.0]]}), "clue.intervals", "starts before 0"),
    (sample_record(task="spatial_grounding", media={"type": "image", "path": "i.jpg"},
                   clue={"boxes": [[10, 0, 5, 4]]}), "clue.boxes", "x1 < x0"),
    (sample_record(task="spatial_grounding", media={"type": "image", "path": "i.jpg"},
                   clue={"boxes": [[0, 0, 5]]}), "clue.boxes", "4 numbers"),
    (mcq_record(answer="C"), "answer", "not one of the option letters AB"),
    (mcq_record(options=["only one"], answer=None), "options", "2..26"),
    (mcq_record(options=None, answer=None), "options", "needs options"),
    (sample_record(task="find_waldo"), "task", "'find_waldo'"),
    (sample_record(clue={"boxes": [[0, 0, 1, 1]]}), "clue", "temporal_grounding sample's clue is temporal"),
    (sample_record(task="tracking", clue={"intervals": [[0, 1]]}), "clue", "tracking sample's clue is tracking"),
    (sample_record(task="caption", media={"type": "image", "path": "i.jpg"}), "clue", "needs a video"),
    (sample_record(media={"type": "image", "path": "i.jpg", "duration": 3.0}, clue=None), "media.duration",
     "an image has no duration"),
    (sample_record(clue={"intervals": [[0.0, float("nan")]]}), "clue.intervals.0.1", "finite"),
    (sample_record(clue={}), "clue", "exactly one non-empty kind"),
    (sample_record(clue={"intervals": [[0, 1]], "boxes": [[0, 0, 1, 1]]}), "clue", "exactly one"),
    (sample_record(task="tracking", clue={"track": [{"t": 2.0, "box": [0, 0, 1, 1]},
                                                    {"t": 1.0, "box": [0, 0, 1, 1]}]}),
     "clue.track", "track times must increase"),
    (sample_record(id=""), "id", "at least 1 character"),
    (sample_record(media={"type": "audio", "path": "a.wav"}), "media.type", "'audio'"),
    (sample_record(media={"type": "video", "path": "v.mp4", "width": 0}), "media.width", "greater than 0"),
    (sample_record(extra_field=1), "extra_field", "not permitted"),
])
def test_each_rule_names_file_line_and_field(record, field, words):
    error = _error(record)
    assert (error.path, error.line, error.field) == ("data.jsonl", 7, field)
    assert words in str(error)
    assert str(error).startswith("data.jsonl:7: ")


def test_several_problems_in_one_record_are_counted():
    error = _error(sample_record(id="", task="nope"))
    assert "+1 more problem in this record" in str(error)


@pytest.mark.parametrize("record", [
    sample_record(),
    mcq_record(),
    mcq_record(task="grounded_qa", clue={"intervals": [[0.5, 1.5], [3, 4]]}),
    mcq_record(task="grounded_qa", media={"type": "image", "path": "i.jpg", "width": 8, "height": 6},
               clue={"boxes": [[1, 1, 4, 4]]}),
    sample_record(task="tracking", clue={"track": [{"t": 0.0, "box": [0, 0, 2, 2]}, {"t": 0.5, "box": [1, 1, 3, 3]}]}),
    sample_record(task="caption", clue=None, answer="a dog runs", meta={"duration_category": "short", "n": 3}),
    sample_record(options=None, answer=None, think="looked at 1-3 s", clue={"intervals": [[2.0, 2.0]]}),
])
def test_valid_samples_round_trip_through_json(record):
    sample = parse_sample(record)
    again = parse_sample(json.loads(sample_to_json(sample)))
    assert again == sample
    written = {key: value for key, value in record.items() if value is not None}  # nulls are left out
    assert json.loads(sample_to_json(sample)) == json.loads(json.dumps(written))


def test_spec_example_is_valid():
    sample = parse_sample({"id": "charades_sta/3MSZA#0", "task": "temporal_grounding",
                           "media": {"type": "video", "path": "3MSZA.mp4", "duration": 30.96},
                           "question": "the person takes a box out", "options": None, "answer": None,
                           "think": None, "clue": {"intervals": [[6.0, 11.9]]}, "source": "charades_sta"})
    assert sample.clue.kind == "temporal" and sample.option_letters == []


def test_every_task_name_is_accepted():
    for task in TASKS:
        options = ["a", "b"] if task in ("mcq", "grounded_qa") else None
        assert parse_sample(sample_record(task=task, clue=None, options=options)).task == task


def test_media_resolve():
    media = parse_sample(sample_record()).media
    assert str(media.resolve("/data")) == "/data/v.mp4"
    assert str(media.resolve(None)) == "v.mp4"
    absolute = parse_sample(sample_record(media={"type": "video", "path": "/abs/v.mp4"})).media
    assert str(absolute.resolve("/data")) == "/abs/v.mp4"


@given(start=st.floats(0, 1e4), length=st.floats(0, 1e4))
def test_any_ordered_interval_is_accepted(start, length):
    sample = parse_sample(sample_record(clue={"intervals": [[start, start + length]]}, media={"type": "video",
                                                                                             "path": "v.mp4"}))
    assert sample.clue.intervals[0][0] == start


def test_read_samples_names_the_bad_line(tmp_path):
    good = json.dumps(sample_record())
    path = write_text(tmp_path / "s.jsonl", f"{good}\n\n{json.dumps(mcq_record(answer='Z'))}\n")
    with pytest.raises(DataError) as caught:
        list(read_samples(path))
    assert (caught.value.line, caught.value.field) == (3, "answer")


@pytest.mark.parametrize(("text", "words"), [("{not json\n", "not valid JSON"), ("[1, 2]\n", "JSON object")])
def test_iter_jsonl_rejects_lines_that_are_not_objects(tmp_path, text, words):
    path = write_text(tmp_path / "s.jsonl", json.dumps(sample_record()) + "\n" + text)
    with pytest.raises(DataError, match=words) as caught:
        list(iter_jsonl(path))
    assert caught.value.line == 2


def test_read_samples_rejects_duplicate_ids(tmp_path):
    path = write_text(tmp_path / "s.jsonl", (json.dumps(sample_record()) + "\n") * 2)
    with pytest.raises(DataError, match="duplicate id") as caught:
        list(read_samples(path))
    assert caught.value.line == 2
    assert len(list(read_samples(path, unique_ids=False))) == 2


def test_missing_and_non_utf8_files_are_data_errors(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        list(read_samples(tmp_path / "absent.jsonl"))
    bad = tmp_path / "latin.jsonl"
    bad.write_bytes(b'{"id": "caf\xe9"}\n')
    with pytest.raises(DataError, match="not UTF-8"):
        list(read_samples(bad))


@pytest.mark.parametrize(("line", "words", "field"), [
    ('{"id": ' + "[" * 100_000, "nested too deeply", None),
    ('{"id": "a", "width": ' + "7" * 5000 + "}", "a number of more than 4300 digits", None),
    ('{"id": "a", "question": "why \\ud800?"}', "lone UTF-16 surrogate", "question"),
    ('{"id": "a", "options": ["x", "\\udfff"]}', "lone UTF-16 surrogate", "options.1"),
], ids=["deep nesting", "long integer", "surrogate in question", "surrogate in an option"])
def test_hostile_json_lines_are_data_errors_naming_file_line_and_field(tmp_path, line, words, field):
    prediction = {"id": "p", "output": "<answer>A</answer>"}
    for good, read in ((sample_record(), read_samples), (prediction, load_predictions)):
        path = write_text(tmp_path / "hostile.jsonl", json.dumps(good) + "\n" + line + "\n")
        with pytest.raises(DataError, match=words) as caught:
            list(read(path))
        assert (caught.value.path, caught.value.line, caught.value.field) == (str(path), 2, field)


def test_invalid_utf8_is_reported_on_its_own_line(tmp_path):
    lines = [json.dumps(sample_record(id=f"s{i}", question="x" * 500)).encode() for i in range(40)]
    lines[30] = lines[30].replace(b"xxx", b"x\xffx", 1)
    path = tmp_path / "broken.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(DataError, match="not UTF-8") as caught:
        list(read_samples(path))
    assert caught.value.line == 31


def test_write_samples_round_trip_and_permissions(tmp_path):
    samples = [parse_sample(sample_record(id=f"s{i}")) for i in range(3)]
    path = tmp_path / "sub" / "out.jsonl"
    assert write_samples(path, samples) == 3
    assert list(read_samples(path)) == samples
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    assert [p.name for p in path.parent.iterdir()] == ["out.jsonl"]


def test_atomic_writer_leaves_nothing_on_failure(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_writer(path) as handle:
        handle.write("half")
        raise RuntimeError("boom")
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_samples_are_immutable():
    sample = parse_sample(sample_record())
    with pytest.raises(ValidationError, match="frozen"):
        sample.id = "other"  # type: ignore[misc]
    assert isinstance(sample, Sample)


def test_a_cut_off_jsonl_line_names_the_column_where_it_ends(tmp_path):
    path = tmp_path / "cut.jsonl"
    path.write_text('{"id": "a"}\n{"id": "b", "task"\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"cut.jsonl:2: not valid JSON \(Expecting ':' delimiter at column 19\)"):
        list(iter_jsonl(path))
