"""`videofocus serve` over a real loopback port, through the official `openai` client: completions with
the round trace, streaming, batching, and OpenAI-style errors for bad requests."""

from __future__ import annotations

import base64
import http.client
import json
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest
from perception_helpers import one_torch_thread  # noqa: F401  (fixture)
from serve_helpers import (IMAGE_SIZE, VIDEO_SECONDS, GatedBackend, clue_backend, image_part, make_media_root, post,
                           user_message, video_part)

from videofocus.backends import ScriptedBackend
from videofocus.perception import PerceptionOptions
from videofocus.serve import ServeSettings, create_app, running_server


def client(url: str, api_key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key=api_key, max_retries=0, timeout=60)


@pytest.fixture(scope="module")
def media_root(tmp_path_factory):
    return make_media_root(tmp_path_factory.mktemp("media"))


@pytest.fixture(scope="module")
def scripted_url(media_root):
    app = create_app(clue_backend(), ServeSettings(model_name="scripted", media_root=media_root, max_body_bytes=1 << 20))
    with running_server(app) as url:
        yield url


def test_tiny_model_answers_with_every_round(tiny_qwen25_vl_path, media_root, one_torch_thread):  # noqa: F811
    from videofocus.backends.hf import HFBackend

    backend = HFBackend.from_pretrained(tiny_qwen25_vl_path, device="cpu", max_new_tokens=32)
    settings = ServeSettings(model_name="tiny", media_root=media_root,
                             options=PerceptionOptions(rounds=2, num_frames=4))
    with running_server(create_app(backend, settings)) as url:
        response = client(url).chat.completions.create(
            model="tiny", messages=user_message(video_part("clips/ramp.mp4")), max_tokens=5, temperature=0)
        text_only = client(url).chat.completions.create(
            model="tiny", messages=[{"role": "user", "content": "Say something."}], max_tokens=3)
    assert 1 <= text_only.usage.completion_tokens <= 3 and text_only.usage.prompt_tokens > 0
    first, second = response.model_extra["videofocus"]["rounds"]
    times = first["view"]["timestamps"]
    assert len(times) == 4 and times == sorted(times) and 0 <= times[0] and times[-1] <= VIDEO_SECONDS
    assert 1 <= first["cost"]["completion_tokens"] <= 5 and first["cost"]["prompt_tokens"] > 0
    # A random model writes no readable clue: round 2 falls back to round 1's uniform view, and with
    # greedy decoding (temperature 0) the loop reuses round 1's output instead of asking again.
    assert second["fallback"].startswith("round 1 gave no readable time interval")
    assert second["cost"]["reused"] and second["output"] == first["output"]
    assert response.usage.completion_tokens == first["cost"]["completion_tokens"]
    assert response.choices[0].message.content == (first["answer"] or first["output"])


def test_video_completion_carries_the_round_trace(scripted_url):
    response = client(scripted_url).chat.completions.create(
        model="scripted", messages=user_message(video_part("clips/ramp.mp4")))
    assert response.choices[0].message.content == "the door opens"
    assert response.choices[0].finish_reason == "stop"
    trace = response.model_extra["videofocus"]
    assert trace["media"] == {"type": "video", "duration": VIDEO_SECONDS, "width": 64, "height": 48}
    assert trace["task"] == "temporal_grounding" and trace["stop_reason"] == "rounds"
    rounds = trace["rounds"]
    assert [r["round"] for r in rounds] == [1, 2, 3]
    assert rounds[0]["view"]["focus"] is None and rounds[0]["intervals"] == [[2.0, 4.0]]
    assert rounds[1]["view"]["focus"] == [[2.0, 4.0]] and rounds[1]["fallback"] is None
    inside = [t for t in rounds[1]["view"]["timestamps"] if 2.0 <= t <= 4.0]
    assert len(inside) >= len(rounds[1]["view"]["timestamps"]) / 2  # key_ratio 0.5: dense in the clue
    assert rounds[0]["think"] == "I see a door."


def test_image_as_data_url_with_answer_options(scripted_url, media_root):
    data = base64.b64encode((media_root / "photo.png").read_bytes()).decode()
    response = client(scripted_url).chat.completions.create(
        model="scripted", messages=user_message(image_part(f"data:image/png;base64,{data}"), "Which car?"),
        extra_body={"videofocus": {"rounds": 2, "options": ["red", "blue"]}})
    trace = response.model_extra["videofocus"]
    assert trace["task"] == "mcq" and trace["media"]["width"] == IMAGE_SIZE[0]
    first, second = trace["rounds"]
    assert first["boxes"] == [[30.0, 40.0, 150.0, 120.0]] and first["view"]["crops"] == []
    assert second["view"]["focus"] == [[30.0, 40.0, 150.0, 120.0]] and len(second["view"]["crops"]) == 1


def test_options_written_in_the_question_make_a_multiple_choice_question(media_root):
    text = "Question: What does the person open?\nOptions:\n(A) a door\n(B) a window\nAnswer with the letter."
    backend = clue_backend(answer="B. a window")
    with running_server(create_app(backend, ServeSettings(model_name="mcq", media_root=media_root))) as url:
        response = client(url).chat.completions.create(
            model="mcq", messages=[{"role": "user", "content": [{"type": "text", "text": text},
                                                                video_part("clips/ramp.mp4")]}],
            extra_body={"videofocus": {"rounds": 1}})
    assert response.model_extra["videofocus"]["task"] == "grounded_qa"
    assert response.choices[0].message.content == "B"
    prompt = backend.prompts[0].text
    assert "(A) a door" not in prompt and "a window" in prompt  # the options moved into the task's own list


def test_a_grounding_answer_is_its_clue(media_root):
    backend = ScriptedBackend(lambda prompt: "<think>It opens early.</think><clue>[(2.0, 4.5)]</clue>")
    with running_server(create_app(backend, ServeSettings(model_name="tg", media_root=media_root))) as url:
        response = client(url).chat.completions.create(
            model="tg", messages=user_message(video_part("clips/ramp.mp4"), "the door opens"),
            extra_body={"videofocus": {"rounds": 1}})
    assert response.choices[0].message.content == "[(2.00, 4.50)]"


def test_stream_sends_each_round_as_it_finishes(media_root):
    round_one_sent, calls = threading.Event(), []

    def reply(prompt):
        calls.append(prompt)
        if len(calls) > 1 and not round_one_sent.wait(10):  # round 2 waits until the client has round 1
            return "round 1 was not streamed before round 2 ran"
        return clue_backend().generate([prompt])[0].text

    app = create_app(ScriptedBackend(reply), ServeSettings(model_name="scripted", media_root=media_root))
    with running_server(app) as url:
        stream = client(url).chat.completions.create(
            model="scripted", stream=True, messages=user_message(video_part(f"file://{media_root}/clips/ramp.mp4")))
        chunks = []
        for chunk in stream:
            chunks.append(chunk)
            if (chunk.model_extra.get("videofocus") or {}).get("round", {}).get("round") == 1:
                round_one_sent.set()
    extensions = [chunk.model_extra["videofocus"] for chunk in chunks]
    assert extensions[0]["media"]["type"] == "video" and chunks[0].choices[0].delta.role == "assistant"
    assert [extension["round"]["round"] for extension in extensions[1:-1]] == [1, 2, 3]
    assert all(not chunk.choices[0].delta.content for chunk in chunks[:-1])
    final = chunks[-1]
    assert final.choices[0].delta.content == "the door opens" and final.choices[0].finish_reason == "stop"
    assert extensions[-1]["stop_reason"] == "rounds"


def test_concurrent_requests_share_one_backend_call_per_round(media_root):
    backend = GatedBackend()
    app = create_app(backend, ServeSettings(model_name="scripted", media_root=media_root, max_batch=8))
    with running_server(app) as url, ThreadPoolExecutor(4) as pool:
        ask = lambda _: client(url).chat.completions.create(  # noqa: E731
            model="scripted", messages=user_message(video_part("clips/ramp.mp4")))
        first = pool.submit(ask, 0)
        assert backend.entered.wait(10)
        others = [pool.submit(ask, i) for i in range(3)]
        _wait_until(lambda: app.state.engine.queued == 3)
        backend.gate.set()
        answers = [future.result().choices[0].message.content for future in [first, *others]]
    assert answers == ["A"] * 4
    # Request 1 alone (rounds 1 and 2; round 3 repeats round 2), then the other three together.
    assert [len(call) for call in backend.calls] == [1, 1, 3, 3]


def test_media_that_breaks_in_a_batch_fails_only_its_own_request(media_root):
    shutil.copy(media_root / "clips" / "ramp.mp4", media_root / "breaks.mp4")
    backend = GatedBackend()
    app = create_app(backend, ServeSettings(model_name="scripted", media_root=media_root, max_batch=8))
    body = lambda name: json.dumps({"model": "scripted", "messages": user_message(video_part(name))}).encode()  # noqa: E731
    with running_server(app) as url, ThreadPoolExecutor(3) as pool:
        first = pool.submit(post, url + "/v1/chat/completions", body("clips/ramp.mp4"))
        assert backend.entered.wait(10)
        good = pool.submit(post, url + "/v1/chat/completions", body("clips/ramp.mp4"))
        broken = pool.submit(post, url + "/v1/chat/completions", body("breaks.mp4"))
        _wait_until(lambda: app.state.engine.queued == 2)  # both checked and queued: now the file breaks
        (media_root / "breaks.mp4").write_bytes(b"no longer a video")
        backend.gate.set()
        results = [first.result(), good.result(), broken.result()]
    assert [status for status, _headers, _body in results] == [200, 200, 400]
    error = results[2][2]["error"]
    assert error["code"] == "media_unreadable" and str(media_root) not in error["message"]


# ----- bad requests -------------------------------------------------------------------------------

@pytest.mark.parametrize("url, status, code", [
    ("missing.mp4", 400, "media_not_found"),
    ("../outside.mp4", 400, "media_outside_root"),
    ("/etc/hosts", 400, "media_outside_root"),
    ("file:///etc/hosts", 400, "media_outside_root"),
    ("link_out.mp4", 400, "media_outside_root"),
    ("http://127.0.0.1:9/clip.mp4", 400, "remote_media_disabled"),
    ("not_a_video.mp4", 400, "media_unreadable"),
    ("data:video/mp4;base64,@@@", 400, None),
])
def test_bad_media_gets_an_openai_error(scripted_url, media_root, url, status, code):
    (media_root / "not_a_video.mp4").write_text("plain text")
    if not (media_root / "link_out.mp4").is_symlink():
        (media_root / "link_out.mp4").symlink_to("/etc/hosts")
    with pytest.raises(openai.APIStatusError) as raised:
        client(scripted_url).chat.completions.create(model="scripted", messages=user_message(video_part(url)))
    error = raised.value
    assert error.status_code == status and error.body["code"] == code
    assert error.body["param"] == "messages[0].content[0].video_url.url"
    assert str(media_root) not in error.body["message"]


def test_unknown_model_is_404(scripted_url):
    with pytest.raises(openai.NotFoundError) as raised:
        client(scripted_url).chat.completions.create(model="gpt-4o", messages=user_message(video_part("clips/ramp.mp4")))
    assert raised.value.body == {"message": "the model 'gpt-4o' does not exist; this server serves 'scripted'",
                                 "type": "invalid_request_error", "param": "model", "code": "model_not_found"}


def test_a_text_only_request_is_one_model_call(media_root):
    backend = ScriptedBackend(lambda prompt: f"system={prompt.system}; user={prompt.text}")
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Rate this caption."}]
    with running_server(create_app(backend, ServeSettings(model_name="llm"))) as url:
        response = client(url).chat.completions.create(model="llm", messages=messages, max_tokens=8)
        streamed = [chunk.choices[0].delta.content for chunk in client(url).chat.completions.create(
            model="llm", messages=messages, stream=True)]
    assert response.choices[0].message.content == "system=Be brief.; user=Rate this caption."
    assert "videofocus" not in response.model_extra
    assert streamed == ["", "system=Be brief.; user=Rate this caption."]
    assert [len(call) for call in backend.calls] == [1, 1] and backend.prompts[0].video is None


def test_a_request_needs_at_most_one_media_part(scripted_url):
    with pytest.raises(openai.BadRequestError, match="2 video_url/image_url parts"):
        client(scripted_url).chat.completions.create(model="scripted", messages=[{"role": "user", "content": [
            video_part("clips/ramp.mp4"), image_part("photo.png"), {"type": "text", "text": "q"}]}])


@pytest.mark.parametrize("body, param", [(b'{"model": "scripted", "messages": [', None),
                                         (b'{"model": "scripted"}', "messages")], ids=["malformed", "no-messages"])
def test_malformed_json_and_missing_fields_are_400(scripted_url, body, param):
    status, _headers, answer = post(scripted_url + "/v1/chat/completions", body)
    assert status == 400 and answer["error"]["param"] == param
    assert answer["error"]["type"] == "invalid_request_error" and answer["error"]["message"]


def test_a_declared_oversized_body_is_refused_before_it_is_sent(scripted_url):
    connection = http.client.HTTPConnection(*scripted_url.removeprefix("http://").split(":"), timeout=30)
    connection.putrequest("POST", "/v1/chat/completions")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(2 << 20))
    connection.endheaders()  # no body follows: the answer must not wait for it
    response = connection.getresponse()
    assert response.status == 413 and json.loads(response.read())["error"]["code"] == "request_too_large"


def test_a_chunked_body_over_the_limit_is_413(scripted_url):
    chunks = (b"x" * (64 << 10) for _ in range(18))  # 1.125 MiB against a 1 MiB limit
    connection = http.client.HTTPConnection(*scripted_url.removeprefix("http://").split(":"), timeout=30)
    connection.request("POST", "/v1/chat/completions", body=chunks, encode_chunked=True,
                       headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
    response = connection.getresponse()
    assert response.status == 413 and json.loads(response.read())["error"]["code"] == "request_too_large"


def test_api_key(media_root):
    app = create_app(clue_backend(), ServeSettings(model_name="scripted", media_root=media_root, api_key="s3cret"))
    with running_server(app) as url:
        with pytest.raises(openai.AuthenticationError):
            client(url, api_key="wrong").models.list()
        assert [model.id for model in client(url, api_key="s3cret").models.list()] == ["scripted"]
        code, _headers, _body = post(url + "/v1/chat/completions", b"{}")
        assert code == 401
        with openai.OpenAI(base_url=url, api_key="none").with_options(max_retries=0) as plain:
            assert plain.get("/health", cast_to=object)["status"] == "ok"  # health needs no key


# ----- limits and shutdown --------------------------------------------------------------------------

def test_full_queue_is_429_with_retry_after(media_root):
    backend = GatedBackend()
    app = create_app(backend, ServeSettings(model_name="scripted", media_root=media_root, max_batch=1, max_queue=1,
                                            retry_after=7))
    body = json.dumps({"model": "scripted", "messages": user_message(video_part("clips/ramp.mp4"))}).encode()
    with running_server(app) as url, ThreadPoolExecutor(2) as pool:
        running = pool.submit(post, url + "/v1/chat/completions", body)
        assert backend.entered.wait(10)
        waiting = pool.submit(post, url + "/v1/chat/completions", body)
        _wait_until(lambda: app.state.engine.queued == 1)
        status, headers, answer = post(url + "/v1/chat/completions", body)
        backend.gate.set()
        assert [running.result()[0], waiting.result()[0]] == [200, 200]
    assert status == 429 and headers["retry-after"] == "7" and answer["error"]["type"] == "rate_limit_error"


def test_a_request_past_its_timeout_is_504(media_root):
    backend = GatedBackend()
    app = create_app(backend, ServeSettings(model_name="scripted", media_root=media_root, request_timeout=0.5))
    with running_server(app) as url:
        started = time.monotonic()
        with pytest.raises(openai.APIStatusError) as raised:
            client(url).chat.completions.create(model="scripted", messages=user_message(video_part("clips/ramp.mp4")))
        backend.gate.set()
    assert raised.value.status_code == 504 and raised.value.body["code"] == "timeout"
    assert time.monotonic() - started < 10


def test_shutdown_finishes_the_request_in_flight_and_refuses_new_ones(media_root):
    backend = GatedBackend()
    app = create_app(backend, ServeSettings(model_name="scripted", media_root=media_root, retry_after=3))
    body = json.dumps({"model": "scripted", "messages": user_message(video_part("clips/ramp.mp4"))}).encode()
    server = running_server(app, shutdown_grace=20)
    url = server.__enter__()
    with ThreadPoolExecutor(1) as pool:
        in_flight = pool.submit(post, url + "/v1/chat/completions", body)
        assert backend.entered.wait(10)
        closing = threading.Thread(target=server.__exit__, args=(None, None, None))
        closing.start()
        _wait_until(lambda: not app.state.engine.accepting)
        status, headers, answer = post(url + "/v1/chat/completions", body)
        backend.gate.set()
        assert in_flight.result()[0] == 200
        closing.join(30)
    assert not closing.is_alive()
    assert status == 503 and headers["retry-after"] == "3" and answer["error"]["code"] == "service_unavailable"


def test_shutdown_fails_what_is_still_running_after_the_grace(media_root):
    backend = GatedBackend()
    app = create_app(backend, ServeSettings(model_name="scripted", media_root=media_root))
    body = json.dumps({"model": "scripted", "messages": user_message(video_part("clips/ramp.mp4"))}).encode()
    server = running_server(app, shutdown_grace=0.5)
    url = server.__enter__()
    with ThreadPoolExecutor(1) as pool:
        in_flight = pool.submit(post, url + "/v1/chat/completions", body)
        assert backend.entered.wait(10)
        closing = threading.Thread(target=server.__exit__, args=(None, None, None))
        closing.start()
        status, _headers, answer = in_flight.result()
        backend.gate.set()  # the worker may now finish; nobody waits for its answer
        closing.join(30)
    assert not closing.is_alive()
    assert status == 503 and "shut down" in answer["error"]["message"]


def _wait_until(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)
