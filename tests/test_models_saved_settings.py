"""A trained model folder carries the input settings it was trained (and measured) with, and the
commands that load it take them as defaults; a flag given on the command line still wins."""

from __future__ import annotations

import json

import pytest

from videofocus.cli.model_defaults import LIBRARY_PIXELS, model_input_defaults
from videofocus.errors import DataError
from videofocus.models.saved_settings import SETTINGS_FILE, read_model_settings, write_model_settings

NONE_GIVEN = dict.fromkeys(LIBRARY_PIXELS)


def test_a_folder_without_the_file_and_a_hub_id_get_the_library_defaults(tmp_path):
    assert read_model_settings(tmp_path) == {} and read_model_settings("Qwen/Qwen2.5-VL-7B-Instruct") == {}
    assert model_input_defaults(str(tmp_path), num_frames=None, fps=None, **NONE_GIVEN) == (LIBRARY_PIXELS, None)


def test_saved_settings_fill_what_no_flag_gives_and_flags_win(tmp_path):
    write_model_settings(tmp_path, {"video_min_pixels": 4096, "video_max_pixels": 4096, "video_total_pixels": None,
                                    "image_min_pixels": 4096, "image_max_pixels": 4096})
    write_model_settings(tmp_path, {"num_frames": 8})      # added later (the demo), the rest kept
    pixels, frames = model_input_defaults(str(tmp_path), num_frames=None, fps=None,
                                          **{**NONE_GIVEN, "video_max_pixels": 9000})
    assert pixels == {**LIBRARY_PIXELS, "video_min_pixels": 4096, "video_max_pixels": 9000,
                      "image_min_pixels": 4096, "image_max_pixels": 4096}
    assert frames == 8
    assert model_input_defaults(str(tmp_path), num_frames=None, fps=1.0, **NONE_GIVEN)[1] is None  # --fps given
    assert model_input_defaults(str(tmp_path), num_frames=4, fps=None, **NONE_GIVEN)[1] == 4


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "not valid JSON"),
    ('{"video_max_pixels": "big"}', "field 'video_max_pixels'"),
    ('{"num_frames": 0}', "expected a positive integer"),
    ('{"fps": 2}', "unknown setting"),
])
def test_a_broken_settings_file_names_itself_and_the_field(tmp_path, content, message):
    (tmp_path / SETTINGS_FILE).write_text(content, encoding="utf-8")
    with pytest.raises(DataError) as error:
        read_model_settings(tmp_path)
    assert message in str(error.value) and SETTINGS_FILE in str(error.value)

