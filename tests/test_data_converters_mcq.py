"""Converters of multiple-choice video QA releases and of the VideoChat-R1 training JSON, each on a
small sample in the exact release format."""

from __future__ import annotations

import json

import pytest
from data_helpers import convert, make_image, read_jsonl, write_json, write_jsonl, write_text

from videofocus.errors import DataError
from videofocus.metrics import score_predictions
from videofocus.parsing import Prediction
from videofocus.schema import read_samples

MVBENCH_ACTION_SEQUENCE = [
    {"video": "ZS9XR.mp4", "question": "What happened after the person took the food?",
     "candidates": ["Ate the medicine.", "Tidied up the blanket.", "Put down the cup/glass/bottle.",
                    "Took the box."],
     "answer": "Ate the medicine.", "start": 13.8, "end": 19.5},
]
MVBENCH_ACTION_ANTONYM = [
    {"video": "166583.webm", "question": "What is the action performed by the person in the video?",
     "candidates": ["Not sure", "Scattering something down", "Piling something up"],
     "answer": "Piling something up"},
]


def test_mvbench_folder_of_task_files(tmp_path):
    write_json(tmp_path / "json" / "action_sequence.json", MVBENCH_ACTION_SEQUENCE)
    write_json(tmp_path / "json" / "action_antonym.json", MVBENCH_ACTION_ANTONYM)
    assert convert("mvbench", tmp_path, input=tmp_path / "json") == [
        {"id": "mvbench/action_antonym/0", "task": "mcq",
         "media": {"type": "video", "path": "ssv2_video/166583.webm"},
         "question": "What is the action performed by the person in the video?",
         "options": ["Not sure", "Scattering something down", "Piling something up"], "answer": "C",
         "source": "mvbench/action_antonym", "meta": {"task": "action_antonym"}},
        {"id": "mvbench/action_sequence/0", "task": "mcq",
         "media": {"type": "video", "path": "star/Charades_v1_480/ZS9XR.mp4", "start": 13.8, "end": 19.5},
         "question": "What happened after the person took the food?",
         "options": ["Ate the medicine.", "Tidied up the blanket.", "Put down the cup/glass/bottle.",
                     "Took the box."],
         "answer": "A", "source": "mvbench/action_sequence",
         "meta": {"task": "action_sequence", "bound_start": 13.8, "bound_end": 19.5}},
    ]


def test_mvbench_frame_folders_are_encoded_once(tmp_path):
    frames = tmp_path / "video" / "tvqa" / "frames_fps3_hq" / "s01e02_seg02_clip_05"
    for index in range(6):
        make_image(frames / f"{index + 1:05d}.jpg", 32, 24)
    write_json(tmp_path / "episodic_reasoning.json", [
        {"video": "s01e02_seg02_clip_05", "question": "Why did Sheldon leave?", "candidates": ["tired", "angry"],
         "answer": "angry", "start": 0.5, "end": 1.2}])
    out_dir = tmp_path / "encoded"
    [sample] = convert("mvbench", tmp_path, input=tmp_path / "episodic_reasoning.json",
                       media_root=tmp_path / "video", write_videos=out_dir)
    video = out_dir / "s01e02_seg02_clip_05.mp4"
    assert sample["media"] == {"type": "video", "path": str(video.resolve()), "duration": 2.0, "start": 0.5,
                               "end": 1.2}
    assert sample["answer"] == "B" and "clue" not in sample
    assert sample["meta"] == {"task": "episodic_reasoning", "bound_start": 0.5, "bound_end": 1.2}
    from videofocus.media.video import probe

    assert probe(video).num_frames == 6
    stamp = video.stat().st_mtime_ns
    convert("mvbench", tmp_path, input=tmp_path / "episodic_reasoning.json", media_root=tmp_path / "video",
            write_videos=out_dir)
    assert video.stat().st_mtime_ns == stamp  # kept: an interrupted run resumes


def test_mvbench_bound_past_the_video_end_is_clipped_in_the_segment_only(tmp_path):
    frames = tmp_path / "video" / "tvqa" / "frames_fps3_hq" / "clip"
    for index in range(6):  # 2.0 s at 3 fps
        make_image(frames / f"{index + 1:05d}.jpg", 32, 24)
    write_json(tmp_path / "episodic_reasoning.json", [
        {"video": "clip", "question": "q", "candidates": ["a", "b"], "answer": "a", "start": "1.5", "end": 7}])
    [sample] = convert("mvbench", tmp_path, input=tmp_path / "episodic_reasoning.json",
                       media_root=tmp_path / "video", write_videos=tmp_path / "encoded")
    assert (sample["media"]["start"], sample["media"]["end"]) == (1.5, 2.0)
    assert (sample["meta"]["bound_start"], sample["meta"]["bound_end"]) == (1.5, 7.0)


def test_mvbench_frame_folder_without_write_videos_is_refused(tmp_path):
    source = write_json(tmp_path / "episodic_reasoning.json", [
        {"video": "clip", "question": "q", "candidates": ["a", "b"], "answer": "a"}])
    with pytest.raises(DataError, match="--write-videos") as caught:
        convert("mvbench", tmp_path, input=source)
    assert caught.value.field == "[0].video"


def test_mvbench_answer_not_among_candidates(tmp_path):
    record = dict(MVBENCH_ACTION_ANTONYM[0], answer="Dancing")
    with pytest.raises(DataError, match="neither an option letter") as caught:
        convert("mvbench", tmp_path, input=write_json(tmp_path / "action_antonym.json", [record]))
    assert caught.value.field == "[0].answer"


VIDEOMME_ROWS = [
    {"video_id": "001", "duration": "short", "domain": "Knowledge", "sub_category": "Humanity & History",
     "url": "https://www.youtube.com/watch?v=fFjv93ACGo8", "videoID": "fFjv93ACGo8", "question_id": "001-1",
     "task_type": "Counting Problem",
     "question": "When demonstrating the Germany modern Christmas tree is initially decorated with apples, "
                 "candles and berries, which kind of the decoration has the largest number?",
     "options": ["A. Apples.", "B. Candles.", "C. Berries.", "D. The three kinds are of the same number."],
     "answer": "C"},
]
VIDEOMME_SAMPLE = {
    "id": "videomme/001-1", "task": "mcq", "media": {"type": "video", "path": "fFjv93ACGo8.mp4"},
    "question": VIDEOMME_ROWS[0]["question"],
    "options": ["Apples.", "Candles.", "Berries.", "The three kinds are of the same number."], "answer": "C",
    "source": "videomme/short",
    "meta": {"duration_category": "short", "domain": "Knowledge", "sub_category": "Humanity & History",
             "task_type": "Counting Problem"}}


def test_videomme_parquet(tmp_path):
    pyarrow = pytest.importorskip("pyarrow")
    import pyarrow.parquet as parquet

    path = tmp_path / "test-00000-of-00001.parquet"
    parquet.write_table(pyarrow.Table.from_pylist(VIDEOMME_ROWS), path)
    assert convert("videomme", tmp_path, input=path) == [VIDEOMME_SAMPLE]


def test_videomme_json_rows_and_bad_answer(tmp_path):
    assert convert("videomme", tmp_path, input=write_jsonl(tmp_path / "videomme.jsonl", VIDEOMME_ROWS)) == [
        VIDEOMME_SAMPLE]
    with pytest.raises(DataError, match="neither an option letter") as caught:
        convert("videomme", tmp_path, input=write_jsonl(tmp_path / "v.jsonl", [dict(VIDEOMME_ROWS[0], answer="F")]))
    assert (caught.value.line, caught.value.field) == (1, "answer")


def test_videomme_scores_by_duration_category(tmp_path):
    rows = [dict(VIDEOMME_ROWS[0], question_id=qid, duration=duration, answer=answer)
            for qid, duration, answer in (("s1", "short", "A"), ("s2", "short", "B"), ("m1", "medium", "C"),
                                          ("l1", "long", "D"))]
    samples = convert("videomme", tmp_path, input=write_jsonl(tmp_path / "videomme.jsonl", rows), source="vmme")
    assert [(s["id"], s["source"]) for s in samples] == [
        ("vmme/s1", "vmme/short"), ("vmme/s2", "vmme/short"), ("vmme/m1", "vmme/medium"), ("vmme/l1", "vmme/long")]
    predictions = {"vmme/s1": Prediction(raw="", answer="A"), "vmme/s2": Prediction(raw="", answer="C"),
                   "vmme/m1": Prediction(raw="", answer="C")}  # l1 missing: counts as wrong
    report = score_predictions("mcq", read_samples(tmp_path / "out.jsonl"), predictions)
    assert report.metrics == pytest.approx({"Acc": 50.0, "Acc/short": 50.0, "Acc/medium": 100.0, "Acc/long": 0.0})


def test_videomme_row_without_duration_keeps_the_plain_source(tmp_path):
    row = {key: value for key, value in VIDEOMME_ROWS[0].items() if key != "duration"}
    [sample] = convert("videomme", tmp_path, input=write_jsonl(tmp_path / "videomme.jsonl", [row]))
    assert sample["source"] == "videomme" and "duration_category" not in sample["meta"]


PERCEPTION_TEST = {
    "video_10909": {
        "metadata": {"video_id": "video_10909", "split": "valid", "num_frames": 648, "frame_rate": 30,
                     "resolution": [1080, 1920], "is_cup_game": False},
        "mc_question": [
            {"id": 0, "question": "Is the camera moving or static?", "options": ["I don't know", "moving", "static"],
             "answer_id": 2, "area": "physics", "reasoning": "descriptive", "tag": ["motion"]},
            {"id": 1, "question": "How many objects are put on the table?", "options": ["2", "3", "4"],
             "answer_id": 0, "area": "memory", "reasoning": "descriptive", "tag": ["counting"]},
        ]},
    "video_7": {"metadata": {"video_id": "video_7", "split": "train", "num_frames": 300, "frame_rate": 30,
                             "resolution": [480, 640]},
                "mc_question": [{"id": 4, "question": "q", "options": ["a", "b", "c"], "answer_id": 1}]},
}


def test_perception_test_split_filter(tmp_path):
    source = write_json(tmp_path / "mc_question_valid.json", PERCEPTION_TEST)
    media = {"type": "video", "path": "video_10909.mp4", "duration": 21.6, "width": 1920, "height": 1080}
    assert convert("perception_test", tmp_path, input=source, split="valid") == [
        {"id": "perception_test/video_10909#0", "task": "mcq", "media": media,
         "question": "Is the camera moving or static?", "options": ["I don't know", "moving", "static"],
         "answer": "C", "source": "perception_test", "meta": {"area": "physics", "reasoning": "descriptive"}},
        {"id": "perception_test/video_10909#1", "task": "mcq", "media": media,
         "question": "How many objects are put on the table?", "options": ["2", "3", "4"], "answer": "A",
         "source": "perception_test", "meta": {"area": "memory", "reasoning": "descriptive"}},
    ]
    assert len(convert("perception_test", tmp_path, input=source)) == 3


def test_perception_test_test_split_and_bad_answer_id(tmp_path):
    test_entry = json.loads(json.dumps(PERCEPTION_TEST["video_7"]))
    del test_entry["mc_question"][0]["answer_id"]
    [sample] = convert("perception_test", tmp_path, input=write_json(tmp_path / "t.json", {"video_7": test_entry}))
    assert "answer" not in sample
    test_entry["mc_question"][0]["answer_id"] = 3
    with pytest.raises(DataError, match="outside the 3 options") as caught:
        convert("perception_test", tmp_path, input=write_json(tmp_path / "t.json", {"video_7": test_entry}))
    assert caught.value.field == "video_7.mc_question[0].answer_id"


VIDEOCHAT_R1_ANNOTATIONS = [
    {"video": "nextqa/1006/4882821564.mp4", "question": "why did the boy move to the sofa",
     "options": ["A. share with the girl", "B. unwrap it", "C. play"], "answer": "B",
     "glue": [[12.1, 17.1], [20.0, 23.5]], "duration": 90},
    {"video": "charades/3MSZA.mp4", "question": "the person takes a box out", "glue": [6.0, 11.9],
     "duration": 30.96},
    {"image": "coco/train2014/COCO_train2014_000000581857.jpg", "question": "the lady with the blue shirt",
     "glue": [103.9, 299.99, 238.15, 477.41]},
    {"video": "mvbench/x.mp4", "question": "what happens?", "options": ["(A) run", "(B) walk"], "answer": "(A) run"},
]
VIDEOCHAT_R1_BUILT = [
    {"problem": "person opens a door", "solution": "<answer>12.54 to 17.83</answer>",
     "video_path": "/data/Charades_v1/AO8RW.mp4", "durations": 26.1, "data_type": "tg"},
    {"problem": {"question": "what does the dog do", "options": ["sit", "jump"]},
     "solution": {"answer": "B", "glue": [[1.0, 2.5]]}, "video_path": "/data/nextqa/7.mp4", "durations": 12,
     "data_type": "gqa"},
    {"problem": "someone laughs", "solution": [3, 4.5], "video_path": "v.mp4", "durations": 9, "data_type": "tg"},
]


def test_videochat_r1_annotation_form(tmp_path):
    assert convert("videochat_r1", tmp_path, input=write_json(tmp_path / "train.json", VIDEOCHAT_R1_ANNOTATIONS)) == [
        {"id": "videochat_r1/0", "task": "grounded_qa",
         "media": {"type": "video", "path": "nextqa/1006/4882821564.mp4", "duration": 90.0},
         "question": "why did the boy move to the sofa", "options": ["share with the girl", "unwrap it", "play"],
         "answer": "B", "clue": {"intervals": [[12.1, 17.1], [20.0, 23.5]]}, "source": "videochat_r1"},
        {"id": "videochat_r1/1", "task": "temporal_grounding",
         "media": {"type": "video", "path": "charades/3MSZA.mp4", "duration": 30.96},
         "question": "the person takes a box out", "clue": {"intervals": [[6.0, 11.9]]}, "source": "videochat_r1"},
        {"id": "videochat_r1/2", "task": "spatial_grounding",
         "media": {"type": "image", "path": "coco/train2014/COCO_train2014_000000581857.jpg"},
         "question": "the lady with the blue shirt", "clue": {"boxes": [[103.9, 299.99, 238.15, 477.41]]},
         "source": "videochat_r1"},
        {"id": "videochat_r1/3", "task": "mcq", "media": {"type": "video", "path": "mvbench/x.mp4"},
         "question": "what happens?", "options": ["run", "walk"], "answer": "A", "source": "videochat_r1"},
    ]


def test_videochat_r1_training_records_form(tmp_path):
    assert convert("videochat_r1", tmp_path, input=write_jsonl(tmp_path / "train.jsonl", VIDEOCHAT_R1_BUILT)) == [
        {"id": "videochat_r1/0", "task": "temporal_grounding",
         "media": {"type": "video", "path": "/data/Charades_v1/AO8RW.mp4", "duration": 26.1},
         "question": "person opens a door", "clue": {"intervals": [[12.54, 17.83]]}, "source": "videochat_r1"},
        {"id": "videochat_r1/1", "task": "grounded_qa",
         "media": {"type": "video", "path": "/data/nextqa/7.mp4", "duration": 12.0},
         "question": "what does the dog do", "options": ["sit", "jump"], "answer": "B",
         "clue": {"intervals": [[1.0, 2.5]]}, "source": "videochat_r1"},
        {"id": "videochat_r1/2", "task": "temporal_grounding", "media": {"type": "video", "path": "v.mp4",
                                                                          "duration": 9.0},
         "question": "someone laughs", "clue": {"intervals": [[3.0, 4.5]]}, "source": "videochat_r1"},
    ]


def test_videochat_r1_answer_without_options_is_kept_as_free_text(tmp_path):
    records = [{"video": "v.mp4", "question": "what is the boy holding?", "glue": [2, 5],
                "answer": "<answer>a red kite</answer>"},
               {"problem": {"question": "who speaks first?"}, "solution": {"answer": "the woman", "glue": [[0, 1.5]]},
                "video_path": "w.mp4", "durations": 8, "data_type": "gqa"}]
    samples = convert("videochat_r1", tmp_path, input=write_jsonl(tmp_path / "train.jsonl", records))
    assert [(s["task"], s["answer"], s["clue"]) for s in samples] == [
        ("temporal_grounding", "a red kite", {"intervals": [[2.0, 5.0]]}),
        ("temporal_grounding", "the woman", {"intervals": [[0.0, 1.5]]})]


@pytest.mark.parametrize(("record", "field", "words"), [
    ({"problem": {"object": "cat", "start": [0, 0, 1, 1]}, "solution": {"answer": [[0, 0, 1, 1]] * 8},
      "video_path": ["f1.jpg", "f2.jpg"], "durations": 0, "data_type": "tracking"}, "video_path", "got10k"),
    ({"path": "/data/GOT-10k/train/GOT-10k_Train_000001", "object": "cat", "gt": [[0.1, 0.2, 0.3, 0.4]] * 8},
     "gt", "--from got10k"),
    ({"video": "v.mp4", "question": "q", "glue": [1, 2], "answer": 3}, "answer", "expected a free-text answer"),
    ({"video": "v.mp4", "question": "q"}, None, "cannot tell the task"),
    ({"video": "v.mp4", "question": "q", "glue": [5, 2]}, "clue.intervals", "ends before it starts"),
    ({"problem": "q", "solution": "<answer>soon</answer>", "video_path": "v.mp4", "data_type": "tg"},
     "solution", "no 'start to end' times"),
    ({"image": "i.jpg", "question": "q", "glue": [1, 2, 3]}, "glue", "[x0, y0, x1, y1]"),
])
def test_videochat_r1_bad_records(tmp_path, record, field, words):
    source = write_jsonl(tmp_path / "bad.jsonl", [VIDEOCHAT_R1_BUILT[2], record])
    with pytest.raises(DataError) as caught:
        convert("videochat_r1", tmp_path, input=source)
    assert words in str(caught.value)
    assert caught.value.line == 2
    assert caught.value.field == field or field in str(caught.value)


def test_output_is_readable_by_read_samples(tmp_path):
    convert("videochat_r1", tmp_path, input=write_json(tmp_path / "train.json", VIDEOCHAT_R1_ANNOTATIONS))
    assert [s.task for s in read_samples(tmp_path / "out.jsonl")] == [
        "grounded_qa", "temporal_grounding", "spatial_grounding", "mcq"]
    assert len(read_jsonl(tmp_path / "out.jsonl")) == 4


def test_broken_source_text(tmp_path):
    with pytest.raises(DataError, match="expected a JSON list"):
        convert("videochat_r1", tmp_path, input=write_text(tmp_path / "x.json", '{"a": 1}'))
    with pytest.raises(DataError, match="name the file .jsonl") as caught:
        convert("videochat_r1", tmp_path, input=write_jsonl(tmp_path / "y.json", VIDEOCHAT_R1_BUILT))
    assert caught.value.line == 2


def test_videochat_r1_keeps_the_record_id_and_type(tmp_path):
    records = [{"id": "2574374895_8", "type": "TN", "video": "nextqa/2574374895.mp4", "question": "what next?",
                "options": ["sit", "jump"], "answer": "B", "glue": [1, 2], "duration": 30},
               {"video": "v.mp4", "question": "someone laughs", "glue": [3, 4]}]
    converted = convert("videochat_r1", tmp_path, input=write_json(tmp_path / "nextgqa_val.json", records))
    assert [(sample["id"], sample.get("meta")) for sample in converted] == [
        ("videochat_r1/2574374895_8", {"type": "TN"}), ("videochat_r1/1", None)]


def test_videochat_r1_dict_layout_names_the_converter_that_reads_it(tmp_path):
    charades = {"3MSZA": {"duration": 30.96, "timestamps": [[24.3, 30.4]], "sentences": ["person turns a light on"]}}
    with pytest.raises(DataError, match="convert it with --from activitynet_captions"):
        convert("videochat_r1", tmp_path, input=write_json(tmp_path / "charades_test.json", charades))
    [sample] = convert("activitynet_captions", tmp_path, input=tmp_path / "charades_test.json")
    assert sample["clue"] == {"intervals": [[24.3, 30.4]]}
