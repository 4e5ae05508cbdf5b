"""Dream-1k caption scoring: event precision, recall and F1 from the LLM caption judge, through
`videofocus score` against a scripted OpenAI-compatible server."""

from __future__ import annotations

import json

import pytest
from metrics_helpers import write_jsonl, write_samples_jsonl
from scoring_helpers import ScriptedReply, fake_chat_server
from typer.testing import CliRunner

from videofocus.cli import app
from videofocus.errors import ConfigError
from videofocus.metrics import score_predictions
from videofocus.schema import Sample

runner = CliRunner()
REFERENCE = "A man walks in, sits down and reads a book."


def caption_sample(id: str) -> Sample:
    return Sample.model_validate({"id": id, "task": "caption", "question": "Describe this video in detail.",
                                  "answer": REFERENCE, "media": {"type": "video", "path": f"{id}.mp4"}})


def test_event_precision_recall_and_f1_through_the_cli(tmp_path):
    annotations = write_samples_jsonl(tmp_path / "ann.jsonl", [caption_sample("a"), caption_sample("b")])
    predictions = write_jsonl(tmp_path / "pred.jsonl", [
        {"id": "a", "output": "<think>x</think><answer>A man enters and reads.</answer>"}, {"id": "b", "answer": ""}])
    replies = [ScriptedReply(content='["A man walks in.", "He sits down.", "He reads a book."]'),  # reference events
               ScriptedReply(content="[true, false, true]"),                                       # recall 2/3
               ScriptedReply(content='["A man enters.", "He reads."]'),                            # caption events
               ScriptedReply(content="[true, true]")]                                              # precision 1
    with fake_chat_server(*replies) as server:
        result = runner.invoke(app, ["score", "--benchmark", "dream1k", "--annotations", str(annotations),
                                     "--predictions", str(predictions), "--json", "--judge-url", server.url,
                                     "--judge-model", "judge"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)["metrics"]
    # sample b's empty caption scores 0 without a question to the judge
    precision, recall = 100 * (1 + 0) / 2, 100 * (2 / 3 + 0) / 2
    assert metrics == pytest.approx({"F1": 2 * precision * recall / (precision + recall), "Precision": precision,
                                     "Recall": recall})
    assert len(server.requests) == 4


def test_dream1k_without_a_judge_says_how_to_give_one():
    with pytest.raises(ConfigError, match="--judge-url URL --judge-model NAME"):
        score_predictions("dream1k", [caption_sample("a")], {})
    result = runner.invoke(app, ["score", "--benchmark", "dream1k", "--annotations", "x", "--predictions", "y",
                                 "--judge-url", "http://localhost:1"])
    assert isinstance(result.exception, ConfigError) and "go together" in str(result.exception)
