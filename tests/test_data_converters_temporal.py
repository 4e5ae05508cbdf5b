"""Converters of temporal grounding and grounded-QA releases, each on a small sample in the exact
release format, checking the exact samples written and the errors for bad lines."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from data_helpers import convert, make_video, write_json, write_text

from videofocus.errors import DataError
from videofocus.metrics import score_predictions
from videofocus.parsing import Prediction
from videofocus.schema import read_samples

CHARADES_STA = """\
3MSZA 24.3 30.4##person turn a light on.
3MSZA 6.0 11.9##the person takes a box out.
AO8RW 0.0 6.9##a person is putting a book on a shelf.
"""
CHARADES_CSV = """\
id,subject,scene,quality,relevance,verified,script,objects,descriptions,actions,length
3MSZA,HR43,Kitchen,6,7,Yes,A person turns on a light.,light,A person turns on a light.,c009 6.0 11.9,30.96
AO8RW,YA2U,Living room,5,6,Yes,Book on shelf,book,A person puts a book away,c001 0 6.9,26.12
"""


def test_charades_sta_with_durations_csv(tmp_path):
    source = write_text(tmp_path / "charades_sta_test.txt", CHARADES_STA)
    csv = write_text(tmp_path / "Charades_v1_test.csv", CHARADES_CSV)
    assert convert("charades_sta", tmp_path, input=source, durations=csv) == [
        {"id": "charades_sta/3MSZA#0", "task": "temporal_grounding",
         "media": {"type": "video", "path": "3MSZA.mp4", "duration": 30.96},
         "question": "person turn a light on.", "clue": {"intervals": [[24.3, 30.4]]}, "source": "charades_sta"},
        {"id": "charades_sta/3MSZA#1", "task": "temporal_grounding",
         "media": {"type": "video", "path": "3MSZA.mp4", "duration": 30.96},
         "question": "the person takes a box out.", "clue": {"intervals": [[6.0, 11.9]]}, "source": "charades_sta"},
        {"id": "charades_sta/AO8RW#0", "task": "temporal_grounding",
         "media": {"type": "video", "path": "AO8RW.mp4", "duration": 26.12},
         "question": "a person is putting a book on a shelf.", "clue": {"intervals": [[0.0, 6.9]]},
         "source": "charades_sta"},
    ]


def test_charades_sta_keeps_raw_ends_past_the_video_and_takes_prefix_and_source(tmp_path):
    source = write_text(tmp_path / "q.txt", "AO8RW 20.0 31.5##someone leaves\n")
    csv = write_text(tmp_path / "d.csv", "id,length\nAO8RW,26.12\n")
    [sample] = convert("charades_sta", tmp_path, input=source, durations=csv, path_prefix="videos/",
                       source="charades_cot", video_ext=".webm")
    assert sample["clue"] == {"intervals": [[20.0, 31.5]]}  # as the official evaluation scores it
    [clipped] = convert("charades_sta", tmp_path, input=source, durations=csv, clip_to_duration=True)
    assert clipped["clue"] == {"intervals": [[20.0, 26.12]]}
    assert sample["media"]["path"] == "videos/AO8RW.webm"
    assert (sample["id"], sample["source"]) == ("charades_cot/AO8RW#0", "charades_cot")


def test_charades_sta_durations_by_probing_media(tmp_path):
    make_video(tmp_path / "media" / "AO8RW.mp4", frames=10, fps=5.0)
    source = write_text(tmp_path / "q.txt", "AO8RW 0.5 1.5##someone waves\n")
    [sample] = convert("charades_sta", tmp_path, input=source, media_root=tmp_path / "media")
    assert sample["media"]["duration"] == pytest.approx(2.0, abs=0.21)


def test_charades_sta_without_durations_leaves_them_out(tmp_path):
    source = write_text(tmp_path / "q.txt", "AO8RW 0.5 1.5##someone waves\n")
    [sample] = convert("charades_sta", tmp_path, input=source)
    assert "duration" not in sample["media"]


@pytest.mark.parametrize(("text", "words"), [
    ("AO8RW 0.5##no end\n", "expected 'VIDEO START END##sentence'"),
    ("AO8RW 0.5 x##bad end\n", "expected a number"),
    ("AO8RW 5.0 1.0##reversed\n", "ends before it starts"),
    ("ZZZZZ 1.0 2.0##unknown video\n", "not in the durations file"),
])
def test_charades_sta_bad_lines_name_file_and_line(tmp_path, text, words):
    source = write_text(tmp_path / "q.txt", "AO8RW 0.0 1.0##fine\n\n" + text)
    csv = write_text(tmp_path / "d.csv", "id,length\nAO8RW,26.12\n")
    with pytest.raises(DataError, match=re.escape(words)) as caught:
        convert("charades_sta", tmp_path, input=source, durations=csv)
    assert (caught.value.path, caught.value.line) == (str(source), 3)
    assert not (tmp_path / "out.jsonl").exists()


def test_charades_sta_skip_invalid_keeps_the_good_lines(tmp_path):
    from videofocus.data.converters import ConvertOptions, get_converter, run_conversion

    source = write_text(tmp_path / "q.txt", "AO8RW 0.0 1.0##fine\nbroken line\nAO8RW 2.0 3.0##also fine\n")
    report = run_conversion(get_converter("charades_sta"), ConvertOptions(input=source), tmp_path / "o.jsonl",
                            skip_invalid=True)
    assert report.written == 2
    assert [error.line for error in report.skipped] == [2]


ACTIVITYNET = {
    "v_QOlSCBRmfWY": {"duration": 82.73, "timestamps": [[0.83, 19.86], [17.37, 60.81], [56.26, 84.0]],
                      "sentences": ["A young woman is seen standing in a room.",
                                    " She then begins dancing around.", "She continues dancing."]},
}


def test_activitynet_captions(tmp_path):
    source = write_json(tmp_path / "val_1.json", ACTIVITYNET)
    media = {"type": "video", "path": "v_QOlSCBRmfWY.mp4", "duration": 82.73}
    assert convert("activitynet_captions", tmp_path, input=source) == [
        {"id": "activitynet_captions/v_QOlSCBRmfWY#0", "task": "temporal_grounding", "media": media,
         "question": "A young woman is seen standing in a room.", "clue": {"intervals": [[0.83, 19.86]]},
         "source": "activitynet_captions"},
        {"id": "activitynet_captions/v_QOlSCBRmfWY#1", "task": "temporal_grounding", "media": media,
         "question": "She then begins dancing around.", "clue": {"intervals": [[17.37, 60.81]]},
         "source": "activitynet_captions"},
        {"id": "activitynet_captions/v_QOlSCBRmfWY#2", "task": "temporal_grounding", "media": media,
         "question": "She continues dancing.", "clue": {"intervals": [[56.26, 84.0]]},  # raw end
         "source": "activitynet_captions"},
    ]


@pytest.mark.parametrize(("entry", "field", "words"), [
    ({"duration": 10, "timestamps": [[1, 2]], "sentences": []}, "v_x.sentences", "1 timestamps but 0 sentences"),
    ({"timestamps": [[1, 2]], "sentences": ["a"]}, "v_x.duration", "missing field"),
    ({"duration": 10, "timestamps": [[1, 2, 3]], "sentences": ["a"]}, "v_x.timestamps[0]", "[start, end] pairs"),
    ({"duration": 10, "timestamps": [[12, 15]], "sentences": ["a"]}, "v_x.timestamps[0]", "after the video ends"),
])
def test_activitynet_captions_bad_records_name_the_record(tmp_path, entry, field, words):
    source = write_json(tmp_path / "train.json", {"v_x": entry})
    with pytest.raises(DataError, match=re.escape(words)) as caught:
        convert("activitynet_captions", tmp_path, input=source)
    assert (caught.value.path, caught.value.field) == (str(source), field)


def test_broken_json_names_line_and_column(tmp_path):
    source = write_text(tmp_path / "train.json", '{\n  "v_x": {"duration": 1,,}\n}')
    with pytest.raises(DataError, match="not valid JSON") as caught:
        convert("activitynet_captions", tmp_path, input=source)
    assert caught.value.line == 2


QVHIGHLIGHTS = """\
{"qid": 2579, "query": "A girl and her mother cooked while talking with each other on facetime.", "duration": 150, "vid": "NUsG9BgSes0_210.0_360.0", "relevant_clip_ids": [13, 14, 15], "saliency_scores": [[1, 3, 2], [2, 3, 2], [2, 2, 2]], "relevant_windows": [[26, 32], [140, 152]]}
{"qid": 9769, "query": "Man in baseball cap eats before doing his interview.", "duration": 150, "vid": "RoripwjYFp8_60.0_210.0"}
"""


def test_qvhighlights_train_and_test_lines(tmp_path):
    source = write_text(tmp_path / "highlight_val_release.jsonl", QVHIGHLIGHTS)
    assert convert("qvhighlights", tmp_path, input=source) == [
        {"id": "qvhighlights/2579", "task": "temporal_grounding",
         "media": {"type": "video", "path": "NUsG9BgSes0_210.0_360.0.mp4", "duration": 150.0},
         "question": "A girl and her mother cooked while talking with each other on facetime.",
         "clue": {"intervals": [[26.0, 32.0], [140.0, 152.0]],
                  "saliency": {"clip_length": 2.0, "clip_ids": [13, 14, 15],
                               "scores": [[1.0, 3.0, 2.0], [2.0, 3.0, 2.0], [2.0, 2.0, 2.0]]}},
         "source": "qvhighlights"},
        {"id": "qvhighlights/9769", "task": "temporal_grounding",
         "media": {"type": "video", "path": "RoripwjYFp8_60.0_210.0.mp4", "duration": 150.0},
         "question": "Man in baseball cap eats before doing his interview.", "source": "qvhighlights"},
    ]


def test_qvhighlights_bad_line(tmp_path):
    source = write_text(tmp_path / "q.jsonl", QVHIGHLIGHTS + '{"qid": 1, "query": "x", "vid": "v"}\n')
    with pytest.raises(DataError, match="missing field") as caught:
        convert("qvhighlights", tmp_path, input=source)
    assert (caught.value.line, caught.value.field) == (3, "duration")


NEXTGQA_CSV = """\
video_id,frame_count,width,height,question,answer,qid,type,a0,a1,a2,a3,a4
4882821564,2697,640,480,why did the boy pick up one present from the group of them and move to the sofa,unwrap it,1,CW,share with the girl,approach lady sitting there,unwrap it,playing with toy train,gesture something
10001787725,1019,640,360,what does the man do after the dog jumps,pats the dog,3,TN,pats the dog,walks away,sits down,claps,runs
"""
NEXTGQA_GSUB = {
    "4882821564": {"duration": 90, "location": {"1": [[12.1, 17.1], [20.0, 23.5]]}, "fps": 29.97},
    "10001787725": {"duration": 34, "location": {"3": [[29.7, 34.2]]}, "fps": 29.97},
}
NEXTGQA_MAP = {"4882821564": "1006/4882821564", "10001787725": "0000/10001787725"}


def test_nextgqa_val_with_spans_and_video_map(tmp_path):
    source = write_text(tmp_path / "val.csv", NEXTGQA_CSV)
    write_json(tmp_path / "gsub_val.json", NEXTGQA_GSUB)
    write_json(tmp_path / "map_vid_vidorID.json", NEXTGQA_MAP)
    assert convert("nextgqa", tmp_path, input=source) == [
        {"id": "nextgqa/4882821564#1", "task": "grounded_qa",
         "media": {"type": "video", "path": "1006/4882821564.mp4", "duration": 90.0, "width": 640, "height": 480},
         "question": "why did the boy pick up one present from the group of them and move to the sofa",
         "options": ["share with the girl", "approach lady sitting there", "unwrap it", "playing with toy train",
                     "gesture something"],
         "answer": "C", "clue": {"intervals": [[12.1, 17.1], [20.0, 23.5]]}, "source": "nextgqa",
         "meta": {"type": "CW"}},
        {"id": "nextgqa/10001787725#3", "task": "grounded_qa",
         "media": {"type": "video", "path": "0000/10001787725.mp4", "duration": 34.0, "width": 640, "height": 360},
         "question": "what does the man do after the dog jumps",
         "options": ["pats the dog", "walks away", "sits down", "claps", "runs"],
         "answer": "A", "clue": {"intervals": [[29.7, 34.2]]}, "source": "nextgqa", "meta": {"type": "TN"}},
    ]


def test_nextgqa_train_csv_without_spans_is_plain_mcq(tmp_path):
    source = write_text(tmp_path / "train.csv", NEXTGQA_CSV)
    write_json(tmp_path / "map_vid_vidorID.json", NEXTGQA_MAP)
    samples = convert("nextgqa", tmp_path, input=source)
    assert [(s["task"], s["media"]["path"], "clue" in s) for s in samples] == [
        ("mcq", "1006/4882821564.mp4", False), ("mcq", "0000/10001787725.mp4", False)]


def test_nextgqa_names_the_file_its_rule_looked_for(tmp_path):
    val = write_text(tmp_path / "val.csv", NEXTGQA_CSV)
    write_json(tmp_path / "map_vid_vidorID.json", NEXTGQA_MAP)
    with pytest.raises(DataError, match="the val time spans not found: looked for gsub_val.json beside val.csv") \
            as caught:
        convert("nextgqa", tmp_path, input=val)  # before, a val CSV without spans became ungrounded MCQ
    assert caught.value.path == str(tmp_path / "gsub_val.json")
    renamed = write_text(tmp_path / "nextgqa_val_part.csv", NEXTGQA_CSV)
    write_json(tmp_path / "gsub_val.json", NEXTGQA_GSUB)
    with pytest.raises(DataError, match="looked for gsub_nextgqa_val_part.json"):
        convert("nextgqa", tmp_path, input=renamed)
    assert len(convert("nextgqa", tmp_path, input=renamed, split="val")) == 2
    (tmp_path / "map_vid_vidorID.json").unlink()
    with pytest.raises(DataError, match="video map .* not found: looked for map_vid_vidorID.json"):
        convert("nextgqa", tmp_path, input=val)


def test_nextgqa_errors(tmp_path):
    source = write_text(tmp_path / "val.csv", NEXTGQA_CSV.replace("unwrap it,1,CW", "fly away,1,CW"))
    write_json(tmp_path / "gsub_val.json", NEXTGQA_GSUB)
    write_json(tmp_path / "map_vid_vidorID.json", NEXTGQA_MAP)
    with pytest.raises(DataError, match="neither an option letter") as caught:
        convert("nextgqa", tmp_path, input=source)
    assert (caught.value.line, caught.value.field) == (2, "answer")
    write_json(tmp_path / "gsub_val.json", {"4882821564": NEXTGQA_GSUB["4882821564"]})
    with pytest.raises(DataError, match="no time span for video 10001787725 question 3") as caught:
        convert("nextgqa", tmp_path, input=write_text(tmp_path / "val.csv", NEXTGQA_CSV))
    assert caught.value.line == 3
    with pytest.raises(DataError, match="looked for gsub_test.json"):
        convert("nextgqa", tmp_path, input=source, split="test")
    with pytest.raises(DataError, match="lacks column"):
        convert("nextgqa", tmp_path, input=write_text(tmp_path / "val.csv", "video_id,qid\n1,2\n"))


REXTIME = [
    {"qid": "anet_val384", "vid": "v_ZMTi498qnPc", "duration": 100.5,
     "question": "What does the woman do before smiling at the camera?",
     "answer": "From <s0> to <e0>, the woman is brushing her hair.", "source": "ActivityNet_val_2",
     "category": "sequential",
     "options": ["the woman is brushing her hair", "she is dancing", "she reads", "she sleeps"],
     "span": [5, 8], "ans": "A"},
    {"qid": "qvh_val114", "vid": "2I9-kvemtSU_510.0_660.0", "duration": 150,
     "question": "Why do they reach for water?", "category": "cause_effect",
     "options": ["spicy food", "a marathon", "a hot desert", "karaoke"], "span": [0, 152.5], "ans": "A"},
]


def test_rextime(tmp_path):
    source = write_json(tmp_path / "rextime_val.json", REXTIME)
    assert convert("rextime", tmp_path, input=source) == [
        {"id": "rextime/anet_val384", "task": "grounded_qa",
         "media": {"type": "video", "path": "v_ZMTi498qnPc.mp4", "duration": 100.5},
         "question": "What does the woman do before smiling at the camera?",
         "options": ["the woman is brushing her hair", "she is dancing", "she reads", "she sleeps"], "answer": "A",
         "clue": {"intervals": [[5.0, 8.0]]}, "source": "rextime", "meta": {"category": "sequential"}},
        {"id": "rextime/qvh_val114", "task": "grounded_qa",
         "media": {"type": "video", "path": "2I9-kvemtSU_510.0_660.0.mp4", "duration": 150.0},
         "question": "Why do they reach for water?", "options": ["spicy food", "a marathon", "a hot desert", "karaoke"],
         "answer": "A", "clue": {"intervals": [[0.0, 152.5]]}, "source": "rextime",
         "meta": {"category": "cause_effect"}},
    ]


def test_rextime_test_release_without_answers_and_bad_record(tmp_path):
    record = {key: value for key, value in REXTIME[0].items() if key not in ("ans", "span")}
    [sample] = convert("rextime", tmp_path, input=write_json(tmp_path / "rextime_test_release.json", [record]))
    assert "answer" not in sample and "clue" not in sample
    bad = dict(REXTIME[0], ans="E")
    with pytest.raises(DataError, match="neither an option letter") as caught:
        convert("rextime", tmp_path, input=write_json(tmp_path / "r.json", [REXTIME[1], bad]))
    assert caught.value.field == "[1].ans"


def test_unused_option_is_refused(tmp_path):
    from videofocus.errors import ConfigError

    with pytest.raises(ConfigError, match="does not use option.*--allow-pickle"):
        convert("qvhighlights", tmp_path, input=Path("x.jsonl"), allow_pickle=True)


def test_rextime_github_evaluation_file_converts_for_grounding_only_scoring(tmp_path):
    source = write_text(tmp_path / "rextime_val.jsonl", (
        '{"qid": "qvh_val241", "query": "What were they doing before the water?", "duration": 150, '
        '"vid": "2I9-kvemtSU_510.0_660.0", "relevant_windows": [[0, 28]], "ans": "A"}\n'
        '{"qid": "anet_val92", "query": "What does she do?", "duration": 100.5, "vid": "v_ZMTi498qnPc", '
        '"relevant_windows": [[5, 8]], "ans": "A"}\n'))
    samples = convert("rextime", tmp_path, input=source)
    assert samples[0] == {"id": "rextime/qvh_val241", "task": "temporal_grounding",
                          "media": {"type": "video", "path": "2I9-kvemtSU_510.0_660.0.mp4", "duration": 150.0},
                          "question": "What were they doing before the water?",
                          "clue": {"intervals": [[0.0, 28.0]]}, "source": "rextime", "meta": {"ans": "A"}}
    report = score_predictions("temporal_grounding", read_samples(tmp_path / "out.jsonl"),
                               {"rextime/qvh_val241": Prediction(raw="", intervals=[(0.0, 14.0)])})
    assert report.metrics["mIoU"] == 25.0
