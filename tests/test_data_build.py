"""`videofocus data build` end to end over real HTTP: a scripted OpenAI-compatible server on loopback
decides each stage from markers in the records (BADQA, IRRELEVANT, GARBLE, LOWSCORE)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from llm_server_helpers import image_parts, message_texts, scripted_llm_server
from media_helpers import write_cfr_video
from PIL import Image
from typer.testing import CliRunner

from videofocus.cli import app
from videofocus.data.vtts import build_dataset, load_build_config
from videofocus.data.vtts.config import build_config_from_dict, default_prompts
from videofocus.data.vtts.stages import read_scores, think_reader, verdict_reader
from videofocus.errors import ConfigError, DataError
from videofocus.llm import LLMUnavailable, UnreadableReply
from videofocus.schema import parse_sample, read_samples

runner = CliRunner()
MCQ = {"options": ["a square", "a circle"], "answer": "A"}
VIDEO = {"type": "video", "path": "v1.mp4", "duration": 8.0}
IMAGE = {"type": "image", "path": "i1.png", "width": 64, "height": 48}
RECORDS = [
    {"id": "mcq_ok", "task": "mcq", "media": VIDEO, "question": "What moves across the frame?", **MCQ},
    {"id": "mcq_badqa", "task": "mcq", "media": VIDEO, "question": "BADQA What colour is the car?", **MCQ},
    {"id": "gqa_ok", "task": "grounded_qa", "media": VIDEO, "question": "What crosses in the middle?", **MCQ,
     "clue": {"intervals": [[2.0, 6.0]]}},
    {"id": "gqa_irrelevant", "task": "grounded_qa", "media": VIDEO, "question": "What crosses at the start?", **MCQ,
     "clue": {"intervals": [[0.0, 1.0]]}},
    {"id": "tg", "task": "temporal_grounding", "media": VIDEO, "question": "the square enters",
     "clue": {"intervals": [[1.0, 3.0]]}},
    {"id": "sg_irrelevant", "task": "spatial_grounding", "media": IMAGE, "question": "the sky",
     "clue": {"boxes": [[0, 0, 64, 10]]}},
    {"id": "mcq_nocap", "task": "mcq", "media": {"type": "video", "path": "v2.mp4"}, "question": "What is it?",
     **MCQ},
    {"id": "mcq_garble", "task": "mcq", "media": VIDEO, "question": "GARBLE What is shown?", **MCQ},
    {"id": "sg_low", "task": "spatial_grounding", "media": IMAGE, "question": "LOWSCORE the red box",
     "clue": {"boxes": [[8, 8, 40, 30]]}},
    {"id": "own_think", "task": "mcq", "media": VIDEO, "question": "Which shape?", **MCQ,
     "think": "A square is seen moving."},
]
CAPTIONS = [
    {"media": "v1.mp4", "caption": "A white square moves from left to right over a grey background."},
    {"media": "i1.png", "caption": "A red box on a white background."},
    {"id": "gqa_ok", "clue_caption": "The square crosses the middle of the frame."},
    {"id": "gqa_irrelevant", "clue_caption": "IRRELEVANT a cat sleeps on a sofa."},
    {"id": "sg_irrelevant", "clue_caption": "IRRELEVANT an empty strip of sky."},
]
# verify_qa: 6 (mcq_nocap has no caption), verify_clue: 3, reason: 7 (mcq_garble twice), rank: 6.
REQUESTS_OF_A_FULL_RUN = 22


def vtts_script(body: dict) -> str:
    """Stage decisions from the markers; thinks tied to the clue the prompt names."""
    system, text = body["messages"][0]["content"], "\n".join(message_texts(body))
    if system.startswith("You audit training data"):
        consistent = "BADQA" not in text
        return json.dumps({"consistent": consistent, "reason": "fits the caption" if consistent else
                           "the caption shows no car"})
    if system.startswith("You audit the evidence"):
        relevant = "IRRELEVANT" not in text
        return "```json\n" + json.dumps({"relevant": relevant, "reason": "shows it" if relevant else
                                         "unrelated to the question"}) + "\n```"
    if system.startswith("You write the step-by-step reasoning"):
        if "GARBLE" in text:
            return "Sorry, I cannot help with that."
        question = re.search(r'"question": "([^"]*)"', text).group(1)
        clue = re.search(r"The clue (\[.*?\]) is", text)
        seen = f"inside {clue.group(1)} it happens" if clue else "it is visible throughout"
        return f"<think>I look for {question}; {seen}.</think>"
    if system.startswith("You grade training examples"):
        score = 3 if "LOWSCORE" in text else 9
        return json.dumps({"clarity": score, "relevance": score, "consistency": score, "reason": "clear"})
    raise AssertionError(f"unexpected prompt: {system[:60]}")


def write_inputs(folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    write_cfr_video(folder / "v1.mp4", 16, 2.0)
    Image.fromarray(np.full((48, 64, 3), 200, dtype=np.uint8)).save(folder / "i1.png")
    samples, captions = folder / "samples.jsonl", folder / "captions.jsonl"
    samples.write_text("".join(json.dumps(record) + "\n" for record in RECORDS))
    captions.write_text("".join(json.dumps(record) + "\n" for record in CAPTIONS))
    return samples, captions


def write_config(path: Path, url: str, **extra) -> Path:
    endpoint = {"base_url": url, "retries": 1, "backoff": 0, "timeout": 20, "concurrency": 4,
                "input_price_per_million": 1.0, "output_price_per_million": 2.0}
    config = {"llm": {**endpoint, "model": "scripted-llm"}, "vlm": {**endpoint, "model": "scripted-vlm"},
              "rank": {"keep_share": 0.8, "frames": 3}, **extra}
    path.write_text(yaml.safe_dump(config))
    return path


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture()
def inputs(tmp_path):
    return write_inputs(tmp_path / "in")


def run_build(inputs, tmp_path: Path, url: str, **extra):
    samples, captions = inputs
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = load_build_config(write_config(tmp_path / "pipeline.yaml", url, **extra))
    return build_dataset(samples, [captions], tmp_path / "out.jsonl", config)


def test_build_keeps_verified_reasoned_top_ranked_records(inputs, tmp_path):
    with scripted_llm_server(vtts_script) as server:
        report = run_build(inputs, tmp_path, server.url)
    kept = {sample.id: sample for sample in read_samples(tmp_path / "out.jsonl")}
    assert list(kept) == ["mcq_ok", "gqa_ok", "gqa_irrelevant", "tg", "own_think"]
    # Thinks in the output protocol, tied to the clue when there is one; own thinks kept.
    assert kept["gqa_ok"].think == "I look for What crosses in the middle?; inside [(2.00, 6.00)] it happens."
    assert kept["tg"].think == "I look for the square enters; inside [(1.00, 3.00)] it happens."
    assert kept["mcq_ok"].think == "I look for What moves across the frame?; it is visible throughout."
    assert kept["own_think"].think == "A square is seen moving."
    # An irrelevant clue leaves a QA record without it (nothing left to ground: mcq).
    assert kept["gqa_irrelevant"].clue is None and kept["gqa_irrelevant"].task == "mcq"
    assert kept["gqa_ok"].clue.intervals == [(2.0, 6.0)] and kept["gqa_ok"].meta["rank_score"] == 9.0
    dropped = {(line["id"], line["stage"]): line for line in read_lines(tmp_path / "out.dropped.jsonl")}
    assert dropped[("mcq_badqa", "verify")]["detail"] == "the caption shows no car"
    assert dropped[("sg_irrelevant", "verify")]["reason"] == "irrelevant clue (the record's label)"
    assert dropped[("gqa_irrelevant", "verify")]["reason"] == "irrelevant clue removed"
    assert dropped[("mcq_nocap", "verify")]["reason"] == "no caption for the QA check"
    assert dropped[("sg_low", "rank")]["detail"].startswith("score 3.00")
    failure, = read_lines(tmp_path / "out.failures.jsonl")
    assert (failure["id"], failure["stage"]) == ("mcq_garble", "reason")
    assert "failed after 2 attempts (unreadable answer: no <think>" in failure["detail"]
    # The rank requests go to the VLM with frames or crops as images.
    rank_requests = [body for body in server.requests if body["model"] == "scripted-vlm"]
    assert len(rank_requests) == 6 and len(server.requests) == REQUESTS_OF_A_FULL_RUN
    assert all(url.startswith("data:image/jpeg;base64,") for body in rank_requests for url in image_parts(body))
    assert sorted(len(image_parts(body)) for body in rank_requests) == [2, 3, 3, 3, 3, 3]  # sg_low: image + crop
    stages = report.to_json()["stages"]
    assert stages["verify"] == {"entered": 10, "kept": 7, "failed": {}, "dropped": {
        "QA inconsistent with the caption": 1, "irrelevant clue (the record's label)": 1,
        "no caption for the QA check": 1}, "trimmed": {"irrelevant clue removed": 1},
        "unchecked": {"QA check: grounding-only record": 3, "clue check: no clue_caption": 2}}
    assert (stages["reason"]["entered"], stages["reason"]["kept"], stages["reason"]["failed"]) == \
        (7, 6, {"unreadable replies": 1})
    assert (stages["rank"]["entered"], stages["rank"]["kept"], stages["rank"]["dropped"]) == \
        (6, 5, {"outside the top 80%": 1})
    assert report.written == 5 and report.failed == 1
    usage = report.endpoints
    assert usage["llm"].requests == 16 and usage["vlm"].requests == 6 and usage["llm"].prompt_tokens > 0
    assert usage["llm"].cost == pytest.approx((usage["llm"].prompt_tokens + 2 * usage["llm"].completion_tokens) / 1e6)
    assert json.loads((tmp_path / "out.report.json").read_text())["written"] == 5


def test_a_rerun_asks_only_failures_and_a_changed_prompt_redoes_only_its_stage(inputs, tmp_path):
    with scripted_llm_server(vtts_script) as server:
        run_build(inputs, tmp_path, server.url)
        first_output = (tmp_path / "out.jsonl").read_text()
        server.requests.clear()
        report = run_build(inputs, tmp_path, server.url)
        assert len(server.requests) == 2  # only the failed record's think is asked again
        assert report.cached_replies == REQUESTS_OF_A_FULL_RUN - 2
        assert (tmp_path / "out.jsonl").read_text() == first_output
        server.requests.clear()
        stricter = {"rank": {"system": default_prompts()["rank"]["system"] + " Be strict."}}
        run_build(inputs, tmp_path, server.url, prompts=stricter)
    systems = [body["messages"][0]["content"] for body in server.requests]
    assert sum(system.startswith("You grade") and system.endswith("Be strict.") for system in systems) == 6
    assert len(systems) == 6 + 2  # no verify request, no other think


@pytest.mark.slow  # the killed command imports the whole CLI (seconds)
def test_a_killed_build_resumes_from_its_cache_with_the_same_output(inputs, tmp_path):
    with scripted_llm_server(vtts_script) as server:
        run_build(inputs, tmp_path / "full", server.url)
    expected = (tmp_path / "full" / "out.jsonl").read_text()

    samples, captions = inputs
    work = tmp_path / "killed"
    work.mkdir()
    with scripted_llm_server(vtts_script, hold_after=10) as server:
        config = write_config(work / "pipeline.yaml", server.url)
        command = [sys.executable, "-c", "from videofocus.cli import main; main()", "data", "build", "--input",
                   str(samples), "--captions", str(captions), "--output", str(work / "out.jsonl"), "--config",
                   str(config)]
        build = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 env={**os.environ, "OMP_NUM_THREADS": "1"})
        deadline = time.monotonic() + 240  # the command imports the whole CLI first
        while len(server.requests) <= 10 and build.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # the 10 answers reach the cache; later requests hang in flight
        build.send_signal(signal.SIGKILL)
        build.wait()
        assert build.returncode == -signal.SIGKILL, build.stderr.read().decode()
    assert not (work / "out.jsonl").exists()  # nothing half-written
    cached = len(list((work / "out.cache").rglob("*.json")))
    assert 5 <= cached <= 10
    assert not list(work.rglob("*.tmp"))

    with scripted_llm_server(vtts_script) as server:
        config = write_config(work / "pipeline.yaml", server.url)
        result = runner.invoke(app, ["data", "build", "--input", str(samples), "--captions", str(captions),
                                     "--output", str(work / "out.jsonl"), "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert len(server.requests) == REQUESTS_OF_A_FULL_RUN - cached  # only what the kill lost
    assert (work / "out.jsonl").read_text() == expected
    # The report, then the output's `data stats`.
    assert "verify: 10 in, 7 kept, 3 dropped, 0 failed" in result.output
    assert "  dropped: 1 QA inconsistent with the caption" in result.output
    assert "rank: 6 in, 5 kept, 1 dropped, 0 failed" in result.output
    assert re.search(r"vlm \(scripted-vlm\): 6 requests, \d+ prompt \+ \d+ completion tokens", result.output)
    assert f"report: {work / 'out.report.json'}" in result.output
    assert "5 samples, 4 with an answer" in result.output and "by task:" in result.output


def test_an_endpoint_that_refuses_stops_the_build_without_output(inputs, tmp_path):
    samples, captions = inputs
    config = build_config_from_dict({"llm": {"base_url": "http://127.0.0.1:9", "model": "m", "retries": 0,
                                             "timeout": 5}})
    with pytest.raises(LLMUnavailable, match="cannot reach the server"):
        build_dataset(samples, [captions], tmp_path / "out.jsonl", config)
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize("values, message", [
    ({"llm": {"base_url": "http://x", "model": "m"}, "rank": {"keep_share": 1.5}}, "rank.keep_share"),
    ({"llm": {"base_url": "http://x", "model": "m"}, "verfy": {}}, "verfy"),
    ({"llm": {"base_url": "http://x", "model": "m"}, "prompts": {"reason": {"user": "${question}"}}},
     r"prompts.reason.user: unknown placeholder \$\{question\}"),
    ({"llm": {"base_url": "http://x", "model": "m"}, "prompts": {"judge": {"user": "x"}}}, "prompts.judge"),
])
def test_config_errors_name_the_key(values, message):
    with pytest.raises(ConfigError, match=message):
        build_config_from_dict(values)


def test_a_bad_captions_line_is_named(inputs, tmp_path):
    samples, _ = inputs
    captions = tmp_path / "captions.jsonl"
    captions.write_text('{"media": "v1.mp4", "caption": "x"}\n{"caption": "no key"}\n')
    config = build_config_from_dict({"llm": {"base_url": "http://127.0.0.1:9", "model": "m"}})
    with pytest.raises(DataError, match=r"captions.jsonl:2: .*exactly one of id .* or media"):
        build_dataset(samples, [captions], tmp_path / "out.jsonl", config)


def test_readers_refuse_what_they_cannot_use():
    sample = parse_sample(RECORDS[2])
    read_think = think_reader(sample, "videofocus")
    assert read_think("<think> fine </think>") == "fine"
    for reply in ("no tags at all", "<think></think>", "<think>so <answer>B</answer></think>"):
        with pytest.raises(UnreadableReply):
            read_think(reply)
    assert verdict_reader("consistent")('ok: {"consistent": false}') == {"passed": False, "reason": ""}
    for reply in ('{"consistent": "yes"}', "[" * 100_000, "{" * 100_000 + "}"):
        with pytest.raises(UnreadableReply):
            verdict_reader("consistent")(reply)
    assert read_scores('{"clarity": 8, "relevance": 6, "consistency": 7}')["score"] == 7.0
    for reply in ('{"clarity": 11, "relevance": 6, "consistency": 7}', '{"clarity": true, "relevance": 6}'):
        with pytest.raises(UnreadableReply):
            read_scores(reply)


def test_track_frames_unreadable_media_and_progress(tmp_path):
    folder = tmp_path / "in"
    write_inputs(folder)
    track = [{"t": t, "box": [t, t, t + 10, t + 10]} for t in (0.0, 2.0, 4.0, 6.0)]
    records = [{"id": "track", "task": "tracking", "media": {**VIDEO, "width": 64, "height": 48},
                "question": "the square", "clue": {"track": track}},
               {"id": "lost", "task": "spatial_grounding", "media": {"type": "image", "path": "missing.png"},
                "question": "the corner", "clue": {"boxes": [[0, 0, 5, 5]]}}]
    samples = folder / "few.jsonl"
    samples.write_text("".join(json.dumps(record) + "\n" for record in records))
    states = []
    with scripted_llm_server(vtts_script) as server:
        config = load_build_config(write_config(tmp_path / "pipeline.yaml", server.url))
        report = build_dataset(samples, [], tmp_path / "out.jsonl", config, on_progress=states.append)
    assert [sample.id for sample in read_samples(tmp_path / "out.jsonl")] == ["track"]
    rank_request, = (body for body in server.requests if body["model"] == "scripted-vlm")
    assert len(image_parts(rank_request)) == 3  # frames at 3 of the 4 tracked times
    assert "at the tracked times, at these seconds: 0.0, 4.0, 6.0" in "\n".join(message_texts(rank_request))
    failure, = read_lines(tmp_path / "out.failures.jsonl")
    assert (failure["id"], failure["stage"], failure["reason"]) == ("lost", "rank", "unreadable media")
    assert "missing.png" in failure["detail"]
    assert report.stages["rank"].failed == {"unreadable media": 1}
    # Progress: records done of the total, tokens and cost so far, never going back.
    assert (states[-1].done, states[-1].total) == (2, 2)
    tokens = [state.tokens for state in states]
    assert tokens == sorted(tokens) and tokens[-1] > 0 and states[-1].cost > 0
