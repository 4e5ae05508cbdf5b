"""Converters of tracking (GOT-10k) and referring-expression (RefCOCO) releases, each on a small
sample in the exact release format."""

from __future__ import annotations

import os
import pickle

import pytest
from data_helpers import convert, make_image, write_json, write_jsonl, write_text

from videofocus.data.converters.got10k import sampled_frame_indices
from videofocus.data.converters.refcoco import load_plain_pickle
from videofocus.errors import ConfigError, DataError
from videofocus.media.video import probe

META_INFO = """\
[METAINFO]
url: https://youtu.be/xxxxxxxx
begin: 00:00:01
end: 00:00:03
anno_fps: 10Hz
object_class: ailurus fulgens
motion_class: walking
major_class: mammal
root_class: animal
resolution: (33, 25)
"""


def _sequence(folder, frames: int = 12, size=(33, 25)):
    """A GOT-10k sequence folder: frames 00000001.jpg…, groundtruth.txt (x,y,w,h), meta_info.ini."""
    for index in range(frames):
        make_image(folder / f"{index + 1:08d}.jpg", *size)
    boxes = [f"{2 + index}.0000,3.0000,10.0000,8.0000" for index in range(frames)]
    boxes[-1] = "28.0000,20.0000,10.0000,8.0000"  # sticks out of the 33x25 frame
    write_text(folder / "groundtruth.txt", "\n".join(boxes) + "\n")
    write_text(folder / "meta_info.ini", META_INFO)
    return folder


def test_sampled_frame_indices_span_first_to_last():
    assert sampled_frame_indices(12, 8) == [0, 2, 3, 5, 6, 8, 9, 11]
    assert sampled_frame_indices(100, 8) == [0, 14, 28, 42, 57, 71, 85, 99]
    assert sampled_frame_indices(5, 8) == [0, 1, 2, 3, 4]


def test_got10k_split_folder_writes_videos(tmp_path):
    split = tmp_path / "val"
    _sequence(split / "GOT-10k_Val_000001")
    write_text(split / "list.txt", "GOT-10k_Val_000001\n")
    videos = tmp_path / "videos"
    expected_boxes = {0: [2.0, 3.0, 12.0, 11.0], 2: [4.0, 3.0, 14.0, 11.0], 3: [5.0, 3.0, 15.0, 11.0],
                      5: [7.0, 3.0, 17.0, 11.0], 6: [8.0, 3.0, 18.0, 11.0], 8: [10.0, 3.0, 20.0, 11.0],
                      9: [11.0, 3.0, 21.0, 11.0], 11: [28.0, 20.0, 32.0, 24.0]}  # clipped to the 32x24 video
    assert convert("got10k", tmp_path, input=split, write_videos=videos) == [
        {"id": "got10k/GOT-10k_Val_000001", "task": "tracking",
         "media": {"type": "video", "path": "GOT-10k_Val_000001.mp4", "duration": 1.2, "width": 32, "height": 24},
         "question": "ailurus fulgens",
         "clue": {"track": [{"t": index / 10, "box": box} for index, box in expected_boxes.items()]},
         "source": "got10k"}]
    info = probe(videos / "GOT-10k_Val_000001.mp4")
    assert (info.num_frames, info.width, info.height) == (12, 32, 24)
    assert info.frame_times[11] == pytest.approx(1.1)


def test_got10k_single_sequence_without_writing_and_resume(tmp_path):
    folder = _sequence(tmp_path / "GOT-10k_Train_000007", frames=4, size=(40, 30))
    (folder / "meta_info.ini").unlink()
    [sample] = convert("got10k", tmp_path, input=folder)
    assert sample["question"] == "the object"
    assert sample["media"] == {"type": "video", "path": "GOT-10k_Train_000007.mp4", "duration": 0.4,
                               "width": 40, "height": 30}
    assert [point["t"] for point in sample["clue"]["track"]] == [0.0, 0.1, 0.2, 0.3]
    video = tmp_path / "v" / "GOT-10k_Train_000007.mp4"
    convert("got10k", tmp_path, input=folder, write_videos=tmp_path / "v")
    stamp = video.stat().st_mtime_ns
    convert("got10k", tmp_path, input=folder, write_videos=tmp_path / "v")
    assert video.stat().st_mtime_ns == stamp


def test_got10k_test_split_and_bad_lines(tmp_path):
    folder = _sequence(tmp_path / "GOT-10k_Test_000001", frames=3)
    write_text(folder / "groundtruth.txt", "1,2,3,4\n")
    with pytest.raises(DataError, match="withholds all but the first box"):
        convert("got10k", tmp_path, input=folder)
    write_text(folder / "groundtruth.txt", "1,2,3,4\n1,2,3\n1,2,3,4\n")
    with pytest.raises(DataError, match="expected 'x,y,w,h'") as caught:
        convert("got10k", tmp_path, input=folder)
    assert (caught.value.path, caught.value.line) == (str(folder / "groundtruth.txt"), 2)


REFS = [
    {"sent_ids": [0, 1], "file_name": "COCO_train2014_000000581857_16.jpg", "ann_id": 1719310, "ref_id": 0,
     "image_id": 581857, "split": "train", "category_id": 1,
     "sentences": [{"tokens": ["the", "lady", "with", "the", "blue", "shirt"], "raw": "THE LADY WITH THE BLUE SHIRT",
                    "sent_id": 0, "sent": "the lady with the blue shirt"},
                   {"tokens": ["lady", "w", "back", "to", "us"], "raw": "lady w back to us", "sent_id": 1,
                    "sent": "lady w back to us"}]},
    {"sent_ids": [2], "file_name": "COCO_train2014_000000581857_17.jpg", "ann_id": 1719311, "ref_id": 1,
     "image_id": 581857, "split": "testA", "category_id": 1,
     "sentences": [{"tokens": ["man"], "raw": "man", "sent_id": 2, "sent": "man"}]},
]
INSTANCES = {
    "images": [{"id": 581857, "file_name": "COCO_train2014_000000581857.jpg", "width": 640, "height": 427}],
    "annotations": [{"id": 1719310, "image_id": 581857, "bbox": [103.93, 299.99, 134.22, 177.42],
                     "category_id": 1, "area": 1.0, "iscrowd": 0},
                    {"id": 1719311, "image_id": 581857, "bbox": [0, 0, 10, 20], "category_id": 1}],
    "categories": [{"id": 1, "name": "person"}],
}


def _refer_release(tmp_path, refs=REFS, protocol=2):
    folder = tmp_path / "refcoco+"
    folder.mkdir()
    (folder / "refs(unc).p").write_bytes(pickle.dumps(refs, protocol=protocol))
    write_json(folder / "instances.json", INSTANCES)
    return folder / "refs(unc).p"


def test_refcoco_refer_release(tmp_path):
    refs = _refer_release(tmp_path)
    image = {"type": "image", "path": "train2014/COCO_train2014_000000581857.jpg", "width": 640, "height": 427}
    box = [103.93, 299.99, 103.93 + 134.22, 299.99 + 177.42]
    assert convert("refcoco", tmp_path, input=refs, allow_pickle=True, split="train", path_prefix="train2014/") == [
        {"id": "refcoco+/0#0", "task": "spatial_grounding", "media": image, "question": "the lady with the blue shirt",
         "clue": {"boxes": [box]}, "source": "refcoco+", "meta": {"split": "train"}},
        {"id": "refcoco+/0#1", "task": "spatial_grounding", "media": image, "question": "lady w back to us",
         "clue": {"boxes": [box]}, "source": "refcoco+", "meta": {"split": "train"}},
    ]
    assert len(convert("refcoco", tmp_path, input=refs, allow_pickle=True)) == 3


def test_refcoco_pickle_needs_explicit_permission(tmp_path):
    with pytest.raises(ConfigError, match="--allow-pickle"):
        convert("refcoco", tmp_path, input=_refer_release(tmp_path))


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_refcoco_pickle_that_would_run_code_is_refused(tmp_path):
    path = tmp_path / "evil.p"
    path.write_bytes(pickle.dumps([_RunsCode(tmp_path / "pwned.txt")]))
    with pytest.raises(DataError, match="refusing to load"):
        load_plain_pickle(path)
    assert not (tmp_path / "pwned.txt").exists()
    assert load_plain_pickle(_refer_release(tmp_path, protocol=0)) == REFS


# One ref with three sentences as Python 2.7's pickle writes it: str is bytes (protocol 0 `S'…'` in
# repr quoting, protocol 2 SHORT_BINSTRING `U`), repeated keys are memo references (`g8`, `h\x08`).
# Sentence 1 is Latin-1 (not valid UTF-8), sentence 2 UTF-8.
PY2_REFS_PROTOCOL_0 = (
    b"(lp0\n(dp1\nS'image_id'\np2\nI581857\nsS'split'\np3\nS'train'\np4\nsS'sentences'\np5\n(lp6\n"
    b"(dp7\nS'sent_id'\np8\nI0\nsS'sent'\np9\nS'the lady'\np10\nsa"
    b"(dp11\ng8\nI1\nsg9\nS'caf\\xe9'\np12\nsa"
    b"(dp13\ng8\nI2\nsg9\nS'caf\\xc3\\xa9'\np14\nsas"
    b"S'ann_id'\np15\nI1719310\nsS'ref_id'\np16\nI0\nsa.")
PY2_REFS_PROTOCOL_2 = (
    b"\x80\x02]q\x00}q\x01(U\x08image_idq\x02J\xe1\xe0\x08\x00U\x05splitq\x03U\x05trainq\x04"
    b"U\x09sentencesq\x05]q\x06("
    b"}q\x07(U\x07sent_idq\x08K\x00U\x04sentq\x09U\x08the ladyq\x0au"
    b"}q\x0b(h\x08K\x01h\x09U\x04caf\xe9q\x0cu"
    b"}q\x0d(h\x08K\x02h\x09U\x05caf\xc3\xa9q\x0eue"
    b"U\x06ann_idq\x0fJ\x0e<\x1a\x00U\x06ref_idq\x10K\x00ua.")


@pytest.mark.parametrize("pickled", [PY2_REFS_PROTOCOL_0, PY2_REFS_PROTOCOL_2], ids=["protocol0", "protocol2"])
def test_refcoco_python2_pickle(tmp_path, pickled):
    refs = _refer_release(tmp_path, refs=[])
    refs.write_bytes(pickled)
    image = {"type": "image", "path": "COCO_train2014_000000581857.jpg", "width": 640, "height": 427}
    box = [103.93, 299.99, 103.93 + 134.22, 299.99 + 177.42]
    assert convert("refcoco", tmp_path, input=refs, allow_pickle=True) == [
        {"id": f"refcoco+/0#{index}", "task": "spatial_grounding", "media": image, "question": question,
         "clue": {"boxes": [box]}, "source": "refcoco+", "meta": {"split": "train"}}
        for index, question in enumerate(["the lady", "café", "café"])]


def test_plain_pickle_reads_python2_builtin_containers(tmp_path):
    path = tmp_path / "set.p"
    path.write_bytes(b"\x80\x02c__builtin__\nset\nq\x00]q\x01U\x01aq\x02a\x85q\x03Rq\x04.")  # Python 2: set(['a'])
    assert load_plain_pickle(path) == {"a"}
    path.write_bytes(b"\x80\x02c__builtin__\neval\nq\x00U\x011q\x01\x85q\x02Rq\x03.")  # eval('1')
    with pytest.raises(DataError, match="refusing to load __builtin__.eval") as caught:
        load_plain_pickle(path)
    assert caught.value.path == str(path)


def test_refcoco_ref_without_instance(tmp_path):
    refs = [dict(REFS[0], ann_id=42)]
    with pytest.raises(DataError, match="not in instances.json") as caught:
        convert("refcoco", tmp_path, input=_refer_release(tmp_path, refs), allow_pickle=True)
    assert caught.value.field == "[0]"


REC_LINES = [
    {"img_path": "COCO_train2014_000000581857.jpg", "expression": "the lady with the blue shirt",
     "bbox": [103.93, 299.99, 238.15, 477.41], "dataset_name": "refcoco", "height": 427, "width": 640},
    {"img_path": "COCO_train2014_000000000077.jpg", "expression": "left zebra", "bbox": [0, 10, 50, 60]},
]


def test_refcoco_rec_jsonl(tmp_path):
    source = write_jsonl(tmp_path / "REC_refcoco+_unc_testA.jsonl", REC_LINES)
    assert convert("refcoco_rec", tmp_path, input=source) == [
        {"id": "refcoco+/testA#0", "task": "spatial_grounding",
         "media": {"type": "image", "path": "COCO_train2014_000000581857.jpg", "width": 640, "height": 427},
         "question": "the lady with the blue shirt", "clue": {"boxes": [[103.93, 299.99, 238.15, 477.41]]},
         "source": "refcoco+", "meta": {"split": "testA"}},
        {"id": "refcoco+/testA#1", "task": "spatial_grounding",
         "media": {"type": "image", "path": "COCO_train2014_000000000077.jpg"},
         "question": "left zebra", "clue": {"boxes": [[0.0, 10.0, 50.0, 60.0]]}, "source": "refcoco+",
         "meta": {"split": "testA"}},
    ]


def test_refcoco_rec_bad_box(tmp_path):
    source = write_jsonl(tmp_path / "REC_refcocog_umd_val.jsonl", [REC_LINES[1], dict(REC_LINES[0], bbox=[5, 5, 1, 1])])
    with pytest.raises(DataError, match="x1 < x0") as caught:
        convert("refcoco_rec", tmp_path, input=source)
    assert caught.value.line == 2
