"""`compute_stats`, the text report and the histogram."""

from __future__ import annotations

from data_helpers import mcq_record, sample_record

from videofocus.data.stats import (BAR_WIDTH, compute_stats, duration_histogram, format_histogram, format_stats,
                                   plot_duration_histogram)
from videofocus.schema import parse_sample


def _samples():
    return [parse_sample(record) for record in (
        sample_record(id="t1", media={"type": "video", "path": "a.mp4", "duration": 10.0}),
        sample_record(id="t2", media={"type": "video", "path": "b.mp4", "duration": 30.0}, source="charades_sta"),
        mcq_record(id="m1", source="videomme"),
        mcq_record(id="m2", answer=None, source="videomme"),
        mcq_record(id="g1", task="grounded_qa", clue={"intervals": [[1, 2]]},
                   media={"type": "video", "path": "c.mp4", "duration": 20.0}),
        sample_record(id="s1", task="spatial_grounding", media={"type": "image", "path": "i.jpg"},
                      clue={"boxes": [[0, 0, 1, 1]]}),
    )]


def test_counts_by_task_source_media_clue_and_reward():
    stats = compute_stats(_samples())
    assert stats.samples == 6 and stats.with_answer == 2
    assert stats.by_task == {"temporal_grounding": 2, "mcq": 2, "grounded_qa": 1, "spatial_grounding": 1}
    assert stats.by_source == {"synth": 2, "charades_sta": 1, "videomme": 2, "(none)": 1}
    assert stats.by_media == {"video": 5, "image": 1}
    assert stats.by_clue == {"temporal": 3, "(none)": 2, "spatial": 1}
    # The rewards' own dynamic selection: a clue gives its IoU, an answer accuracy, every sample format.
    assert stats.by_reward == {"format": 6, "temporal_iou": 3, "accuracy": 2, "box_iou": 1}
    assert sorted(stats.durations) == [10.0, 20.0, 30.0]


def test_duration_histogram_bins():
    assert duration_histogram([]) == []
    assert duration_histogram([0.0, 1.0, 1.5, 4.0], bins=4) == [(0.0, 1.0, 1), (1.0, 2.0, 2), (2.0, 3.0, 0),
                                                               (3.0, 4.0, 1)]


def test_text_bars_scale_to_the_largest_bin():
    lines = format_histogram([(0.0, 1.0, 4), (1.0, 2.0, 2), (2.0, 3.0, 0)])
    assert lines[0] == "video durations (s):"
    assert [line.count("█") for line in lines[1:]] == [BAR_WIDTH, BAR_WIDTH // 2, 0]
    assert lines[1].endswith(" 4") and lines[3].endswith(" 0")
    assert format_histogram([]) == ["video durations: none declared"]


def test_format_stats_text():
    text = format_stats(compute_stats(_samples()), bins=2)
    assert text.startswith("6 samples, 2 with an answer")
    assert "by task:" in text and "  temporal_grounding" in text
    assert "by reward (samples it applies to):" in text
    assert "    10.0 –     20.0 │" in text


def test_plot_writes_an_image(tmp_path):
    for name, magic in (("h.png", b"\x89PNG"), ("h.svg", b"<?xml")):
        plot_duration_histogram([1.0, 2.0, 2.5, 9.0], tmp_path / name)
        assert (tmp_path / name).read_bytes().startswith(magic)
