"""The pictures draw what the result says: intervals, frames and focus on the timeline; boxes and crops
on the image."""

from __future__ import annotations

import numpy as np
import pytest
from perception_helpers import completion, image_sample, video_sample, write_image, write_ramp_video
from PIL import Image

from videofocus.backends import ScriptedBackend
from videofocus.media.image import load_image
from videofocus.perception import PerceptionOptions, perceive
from videofocus.plots import (
    TimelineRow,
    box_layers,
    boxes_figure,
    plot_boxes,
    plot_timeline,
    result_title,
    timeline_figure,
    timeline_rows,
)


def by_label(artists, label):
    return [artist for artist in artists if artist.get_label() == label]


def legend_texts(axes) -> list[str]:
    return [text.get_text() for text in axes.get_legend().get_texts()]


def x_spans(collection) -> list[tuple[float, float]]:
    return sorted((path.get_extents().x0, path.get_extents().x1) for path in collection.get_paths())


@pytest.fixture(scope="module")
def video_result(tmp_path_factory):
    video = write_ramp_video(tmp_path_factory.mktemp("v") / "ramp.mp4")
    replies = [completion(interval=(12.0, 16.0)), completion(interval=(12.5, 15.0))]
    return perceive(video_sample(video), ScriptedBackend(replies), PerceptionOptions(rounds=2, num_frames=16))


def test_timeline_draws_each_rounds_interval_frames_and_focus(video_result):
    figure = timeline_figure(timeline_rows(video_result), 20.0, ground_truth=[(13.0, 15.5)])
    axes = figure.axes[0]
    assert x_spans(by_label(axes.collections, "round 1")[0]) == [(12.0, 16.0)]
    assert x_spans(by_label(axes.collections, "round 2")[0]) == [(12.5, 15.0)]
    assert x_spans(by_label(axes.collections, "ground truth")[0]) == [(13.0, 15.5)]
    assert x_spans(by_label(axes.collections, "round 2 focus")[0]) == [(12.0, 16.0)]
    assert not by_label(axes.collections, "round 1 focus")  # round 1 is uniform
    ticks = by_label(axes.collections, "round 2 frames")[0]
    np.testing.assert_allclose([segment[0][0] for segment in ticks.get_segments()],
                               video_result.rounds[1].view.timestamps)
    assert [label.get_text() for label in axes.get_yticklabels()] == ["ground truth", "round 1", "round 2"]
    assert legend_texts(axes) == ["predicted interval", "focus (frames dense here)", "frame looked at",
                                  "ground truth"]


def test_timeline_legend_names_only_the_marks_drawn(video_result):
    first_round = timeline_rows(video_result)[:1]  # uniform: no focus band
    assert legend_texts(timeline_figure(first_round, 20.0).axes[0]) == ["predicted interval", "frame looked at"]
    no_clue = [TimelineRow(label="round 1", frames=first_round[0].frames)]
    assert legend_texts(timeline_figure(no_clue, 20.0).axes[0]) == ["frame looked at"]


def test_boxes_figure_draws_each_rounds_boxes_and_crops(tmp_path):
    image = write_image(tmp_path / "photo.png")
    replies = [completion(box=[100, 100, 400, 300]), completion(box=[150, 120, 380, 280])]
    result = perceive(image_sample(image), ScriptedBackend(replies), PerceptionOptions(rounds=2, crop_margin=0.0))
    axes = boxes_figure(load_image(image), box_layers(result), ground_truth=[[140, 110, 390, 290]]).axes[0]

    def corners(patch):
        (x0, y0), width, height = patch.get_xy(), patch.get_width(), patch.get_height()
        return [x0, y0, x0 + width, y0 + height]

    assert [corners(patch) for patch in by_label(axes.patches, "round 1")] == [[100, 100, 400, 300]]
    assert [corners(patch) for patch in by_label(axes.patches, "round 2")] == [[150, 120, 380, 280]]
    assert [corners(patch) for patch in by_label(axes.patches, "round 2 crop")] == [[100, 100, 400, 300]]
    assert [corners(patch) for patch in by_label(axes.patches, "ground truth")] == [[140, 110, 390, 290]]
    assert legend_texts(axes) == ["round 1", "round 2", "ground truth", "crop shown to the model"]
    assert legend_texts(boxes_figure(load_image(image), box_layers(result)[:1]).axes[0]) == ["round 1"]


def test_plots_are_written_as_images(video_result, tmp_path):
    timeline = plot_timeline(timeline_rows(video_result), 20.0, tmp_path / "out" / "timeline.png")
    boxes = plot_boxes(Image.new("RGB", (64, 48)), [], tmp_path / "boxes.jpg")
    assert Image.open(timeline).format == "PNG" and Image.open(boxes).format == "JPEG"
    assert not list(tmp_path.rglob("*.tmp"))


def test_intervals_past_the_video_end_stop_at_the_end(video_result):
    rows = [TimelineRow("round 1", intervals=[(12.0, 31.0)], focus=[(-2.0, 3.0)])]
    axes = timeline_figure(rows, 20.0, ground_truth=[(18.0, 25.0)]).axes[0]
    assert x_spans(by_label(axes.collections, "round 1")[0]) == [(12.0, 20.0)]
    assert x_spans(by_label(axes.collections, "round 1 focus")[0]) == [(0.0, 3.0)]
    assert x_spans(by_label(axes.collections, "ground truth")[0]) == [(18.0, 20.0)]


def test_result_title_cuts_the_question_visibly_and_names_each_rounds_answer(video_result):
    assert result_title("Which colour appears?", video_result) == '"Which colour appears?" rounds A → A'
    long = "Which colour does the small square show when the large circle stops moving to the left?"
    title = result_title(long, video_result, truth="B")
    assert title == f'"{long[:59]}…"  truth B, rounds A → A'


def test_model_text_the_font_cannot_draw_neither_breaks_nor_warns(video_result, tmp_path):
    import dataclasses
    import warnings

    odd = dataclasses.replace(video_result, rounds=[dataclasses.replace(round_, option=None, answer="are_\x1e\u07e8")
                                                    for round_ in video_result.rounds])
    title = result_title("Which colour appears?", odd)
    assert title == '"Which colour appears?" rounds are_\u07e8 → are_\u07e8'  # control characters dropped
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plot_timeline(timeline_rows(odd), 20.0, tmp_path / "t.png", title=title)
    assert Image.open(tmp_path / "t.png").format == "PNG"
