"""videofocus.llm: the one OpenAI-compatible client (concurrency limit, backoff, failure kinds)."""

import asyncio
import time

import pytest
from scoring_helpers import ScriptedReply, fake_chat_server

from videofocus.llm import EndpointSettings, LLMClient, LLMUnavailable, ReplyUnreadable, UnreadableReply

QUESTION = [{"role": "user", "content": "hi"}]


def client(url: str, **settings) -> LLMClient:
    return LLMClient(EndpointSettings(base_url=url, model="m", **{"backoff": 0.0, **settings}))


def test_no_more_requests_in_flight_than_the_concurrency_limit():
    with fake_chat_server(ScriptedReply(content="ok", delay=0.3)) as server:
        limited = client(server.url, concurrency=2)

        async def six_questions():
            try:
                return await asyncio.gather(*(limited.ask(QUESTION, str) for _ in range(6)))
            finally:
                await limited.aclose()

        started = time.monotonic()
        answers = asyncio.run(six_questions())
        elapsed = time.monotonic() - started
    assert [answer.value for answer in answers] == ["ok"] * 6
    assert elapsed >= 3 * 0.3 - 0.05  # three waves of two, never more at once
    assert limited.usage.requests == 6


def test_retries_back_off_exponentially(monkeypatch):
    waits = []

    async def record(seconds):
        waits.append(seconds)

    monkeypatch.setattr("videofocus.llm.backoff_sleep", record)
    with fake_chat_server(ScriptedReply(status=503, raw_body="busy")) as server:
        with pytest.raises(LLMUnavailable, match=r"failed after 4 attempts \(HTTP 503\)"):
            client(server.url, retries=3, backoff=0.5).ask_sync(QUESTION, str)
    assert waits == [0.5, 1.0, 2.0]


def test_a_reply_that_stays_unreadable_is_its_own_failure_kind():
    def read_number(text: str) -> int:
        if not text.strip().isdigit():
            raise UnreadableReply("not a number")
        return int(text)

    with fake_chat_server(ScriptedReply(content="seven"), ScriptedReply(content="7")) as server:
        assert client(server.url, retries=1).ask_sync(QUESTION, read_number).value == 7
    with fake_chat_server(ScriptedReply(content="seven")) as server:
        with pytest.raises(ReplyUnreadable, match=r"failed after 2 attempts \(unreadable answer: not a number\)"):
            client(server.url, retries=1).ask_sync(QUESTION, read_number)
    with fake_chat_server(ScriptedReply(raw_body="<html>not json</html>")) as server:
        with pytest.raises(ReplyUnreadable, match="not a chat completion"):
            client(server.url, retries=0).ask_sync(QUESTION, str)


def test_the_key_comes_from_the_named_environment_variable(monkeypatch):
    monkeypatch.setenv("VF_TEST_KEY", "from-env")
    with fake_chat_server(ScriptedReply(content="ok")) as server:
        client(server.url, api_key_env="VF_TEST_KEY").ask_sync(QUESTION, str)
    headers = {name.lower(): value for name, value in server.requests[0]["headers"].items()}
    assert headers["authorization"] == "Bearer from-env"
    assert server.requests[0]["path"] == "/v1/chat/completions"


def test_ask_sync_works_from_inside_a_running_event_loop():
    async def handler_calling_sync_code():  # e.g. a server endpoint computing a caption reward
        return client(server.url).ask_sync(QUESTION, str).value

    with fake_chat_server(ScriptedReply(content="ok")) as server:
        assert asyncio.run(handler_calling_sync_code()) == "ok"
