"""The caption judge over real HTTP against a scripted local OpenAI-compatible server."""

import socket

import pytest
from scoring_helpers import ScriptedReply, fake_chat_server, make_sample

from videofocus.errors import VideoFocusError
from videofocus.judge import CaptionJudge, JudgeUnavailable
from videofocus.rewards import compute_rewards

EVENTS = ScriptedReply(content='["A man walks in.", "He sits down.", "He reads a book."]')


def quick_judge(url: str, **kwargs) -> CaptionJudge:
    return CaptionJudge(url, "judge-model", timeout=kwargs.pop("timeout", 2.0), retries=kwargs.pop("retries", 2),
                        backoff=0.01, **kwargs)


def test_recall_is_the_entailed_fraction_and_requests_are_openai_shaped():
    verdicts = ScriptedReply(content="```json\n[true, false, true]\n```")
    with fake_chat_server(EVENTS, verdicts) as server:
        judge = quick_judge(server.url, api_key="secret")
        assert judge.recall("A man walks in, sits down and reads.", "A man enters and reads.") == pytest.approx(2 / 3)
    first, second = server.requests
    assert first["path"] == "/v1/chat/completions"
    assert first["headers"]["Authorization"] == "Bearer secret"
    assert first["body"]["model"] == "judge-model"
    assert "A man walks in, sits down and reads." in first["body"]["messages"][-1]["content"]
    entail_prompt = second["body"]["messages"][-1]["content"]
    assert "1. A man walks in." in entail_prompt and "3. He reads a book." in entail_prompt
    assert "A man enters and reads." in entail_prompt


def test_reference_events_are_extracted_once_per_caption():
    with fake_chat_server(EVENTS, ScriptedReply(content="[true, true, true]")) as server:
        judge = quick_judge(server.url + "/v1")  # a base URL that already ends in /v1 works too
        for _ in range(3):
            assert judge.recall("reference", "prediction") == 1.0
    assert len(server.requests) == 1 + 3
    assert all(request["path"] == "/v1/chat/completions" for request in server.requests)


def test_word_verdicts_are_understood():
    with fake_chat_server(EVENTS, ScriptedReply(content='["entailed", "contradiction", "neutral"]')) as server:
        assert quick_judge(server.url).recall("ref", "pred") == pytest.approx(1 / 3)


def test_server_errors_are_retried_then_succeed():
    with fake_chat_server(ScriptedReply(status=500, raw_body="oops"), ScriptedReply(status=503, raw_body="busy"),
                          EVENTS, ScriptedReply(content="[false, false, true]")) as server:
        assert quick_judge(server.url).recall("ref", "pred") == pytest.approx(1 / 3)
    assert len(server.requests) == 4


def test_unreadable_answers_are_retried():
    with fake_chat_server(ScriptedReply(content="I think there are three events."), EVENTS,
                          ScriptedReply(content="[true]"),  # wrong count: retried
                          ScriptedReply(content="[true, true, false]")) as server:
        assert quick_judge(server.url).recall("ref", "pred") == pytest.approx(2 / 3)
    assert len(server.requests) == 4


def test_persistent_500_raises_a_clear_error_after_the_retries():
    with fake_chat_server(ScriptedReply(status=500, raw_body="internal error")) as server:
        with pytest.raises(JudgeUnavailable, match=r"failed after 3 attempts .*HTTP 500"):
            quick_judge(server.url, retries=2).recall("ref", "pred")
    assert len(server.requests) == 3


def test_refused_request_is_not_retried():
    with fake_chat_server(ScriptedReply(status=401, raw_body='{"error": "bad key"}')) as server:
        with pytest.raises(JudgeUnavailable, match=r"HTTP 401.*bad key"):
            quick_judge(server.url).recall("ref", "pred")
    assert len(server.requests) == 1


def test_a_server_that_is_down_raises_a_clear_error():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(JudgeUnavailable, match="cannot reach the server"):
        quick_judge(f"http://127.0.0.1:{port}", retries=1).recall("ref", "pred")


def test_a_server_that_hangs_times_out():
    with fake_chat_server(ScriptedReply(content='["x"]', delay=0.5)) as server:
        with pytest.raises(JudgeUnavailable, match="cannot reach the server"):
            quick_judge(server.url, timeout=0.1, retries=1).recall("ref", "pred")


def test_judge_unavailable_is_a_user_facing_error_and_reaches_the_trainer():
    assert issubclass(JudgeUnavailable, VideoFocusError)
    with fake_chat_server(ScriptedReply(status=502, raw_body="bad gateway")) as server:
        with pytest.raises(JudgeUnavailable):
            compute_rewards(make_sample("caption"), "<think>x</think><answer>A man walks in.</answer>",
                            judge=quick_judge(server.url, retries=1))


def test_caption_reward_through_the_judge():
    with fake_chat_server(ScriptedReply(content='["A man walks in.", "He sits down.", "He reads."]'),
                          ScriptedReply(content="[true, true, false]")) as server:
        result = compute_rewards(make_sample("caption"), "<think>x</think><answer>A man walks in and sits.</answer>",
                                 judge=quick_judge(server.url))
    assert result.values == {"format": 1.0, "caption_recall": pytest.approx(2 / 3)}


def test_empty_prediction_scores_zero_without_asking():
    with fake_chat_server(EVENTS) as server:
        assert quick_judge(server.url).recall("ref", "   ") == 0.0
    assert server.requests == []
