"""`videofocus serve` on the command line: the options reach the app it serves (the server loop
itself is replaced, so the test does not block)."""

from __future__ import annotations

import openai
from serve_helpers import make_media_root, user_message, video_part
from typer.testing import CliRunner

from videofocus.cli import app
from videofocus.serve import running_server
from videofocus.serve import server as serve_server


def test_serve_builds_the_app_from_its_options(tiny_qwen25_vl_path, tmp_path, monkeypatch):
    served = {}
    monkeypatch.setattr(serve_server, "serve_forever", lambda app_, **kwargs: served.update(app=app_, **kwargs))
    root = make_media_root(tmp_path / "media")
    result = CliRunner().invoke(app, ["serve", "--model", str(tiny_qwen25_vl_path), "--served-model-name", "tiny",
                                      "--media-root", str(root), "--rounds", "1", "--num-frames", "4",
                                      "--max-new-tokens", "4", "--api-key", "k", "--port", "0", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert served["host"] == "127.0.0.1" and served["port"] == 0
    with running_server(served["app"]) as url:
        answer = openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0).chat.completions.create(
            model="tiny", messages=user_message(video_part("clips/ramp.mp4")))
    rounds = answer.model_extra["videofocus"]["rounds"]
    assert len(rounds) == 1 and len(rounds[0]["view"]["frame_indices"]) == 4
    assert 1 <= rounds[0]["cost"]["completion_tokens"] <= 4


def test_serve_refuses_a_media_root_that_is_not_a_folder(tmp_path):
    result = CliRunner().invoke(app, ["serve", "--model", "unused", "--media-root", str(tmp_path / "missing")])
    assert result.exit_code != 0 and "--media-root" in result.output
