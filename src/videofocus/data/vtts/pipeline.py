"""`videofocus data build`: verify → reason → rank over OpenAI-compatible endpoints (VideoChat-R1.5
§3.2), from samples to samples.

Records go through the stages concurrently (the clients limit requests in flight). Every answered
request is cached on disk before the record goes on (videofocus.data.vtts.cache), so a killed run
loses only the requests in flight, and a rerun asks only what is missing or what a changed prompt
changed. Rank keeps the best-scored share of all scored records, so it runs after every record is
scored; the output, the dropped/failures lists and the report are written atomically at the end.

A reply that stays unreadable after the retries fails its record (listed with the error, counted
in the report); an endpoint that is down or refuses stops the run (rerun to resume)."""

from __future__ import annotations

import asyncio
import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from videofocus.data.vtts.cache import StageCache, request_key
from videofocus.data.vtts.captions import CaptionIndex, Captions, read_captions
from videofocus.data.vtts.config import BuildConfig
from videofocus.data.vtts.report import BuildReport, EndpointUsage
from videofocus.data.vtts.stages import (GROUNDING_ONLY_TASKS, needs_qa_check, protocol_target, qa_json,
                                          rank_messages, read_scores, reason_messages, think_reader,
                                          verdict_reader, verify_clue_messages, verify_qa_messages, without_clue)
from videofocus.data.vtts.views import sample_views, views_request
from videofocus.errors import DataError, MediaError
from videofocus.llm import LLMClient, ReplyUnreadable
from videofocus.schema import Sample, parse_sample, read_samples, write_samples
from videofocus.storage import atomic_writer

RECORDS_IN_FLIGHT_PER_REQUEST = 2  # records started per allowed concurrent request (keeps the pipe full)


@dataclass(frozen=True)
class BuildPaths:
    """The files a build writes beside its output."""

    output: Path
    dropped: Path
    failures: Path
    report: Path
    cache: Path

    @classmethod
    def beside(cls, output: str | os.PathLike, cache_dir: str | os.PathLike | None = None) -> "BuildPaths":
        output = Path(output)
        stem = output.with_suffix("") if output.suffix == ".jsonl" else output
        return cls(output=output, dropped=Path(f"{stem}.dropped.jsonl"), failures=Path(f"{stem}.failures.jsonl"),
                   report=Path(f"{stem}.report.json"),
                   cache=Path(cache_dir) if cache_dir is not None else Path(f"{stem}.cache"))


@dataclass(frozen=True)
class BuildProgress:
    done: int
    total: int
    tokens: int
    cost: float
    cached: int


@dataclass
class _Outcome:
    """One record's way through the stages: the events each stage noted, and its rank score."""

    sample: Sample
    stage: str = "verify"
    stages_entered: list[str] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    score: dict | None = None

    def enter(self, stage: str) -> None:
        self.stage = stage
        self.stages_entered.append(stage)

    def note(self, event: str, reason: str = "", detail: str = "") -> None:
        self.events.append({"stage": self.stage, "event": event, "reason": reason, "detail": detail})

    @property
    def status(self) -> str:
        """The last stage decision: kept, dropped or failed."""
        return [event["event"] for event in self.events if event["event"] in ("kept", "dropped", "failed")][-1]


def build_dataset(input_path: str | os.PathLike, caption_paths: list[str | os.PathLike],
                  output: str | os.PathLike, config: BuildConfig, *, media_root: str | os.PathLike | None = None,
                  on_progress: Callable[[BuildProgress], None] | None = None) -> BuildReport:
    """Run the pipeline; returns the report (also written as JSON beside the output)."""
    samples = list(read_samples(input_path))
    captions = read_captions(list(caption_paths))
    paths = BuildPaths.beside(output, config.cache_dir)
    root = media_root or config.media_root or Path(input_path).parent
    run = _Run(config, captions, StageCache(paths.cache), root, len(samples), on_progress)
    outcomes = asyncio.run(run.all(samples))
    _rank_selection(outcomes, config)
    report = _report(outcomes, run)
    report.written = write_samples(paths.output, (_with_score(outcome) for outcome in outcomes
                                                  if outcome.status == "kept"))
    _write_lists(paths, outcomes)
    with atomic_writer(paths.report) as handle:
        json.dump(report.to_json(), handle, indent=2)
    return report


class _Run:
    def __init__(self, config: BuildConfig, captions: CaptionIndex, cache: StageCache, media_root,
                 total: int, on_progress):
        self.config, self.captions, self.cache, self.media_root = config, captions, cache, media_root
        self.llm = LLMClient(config.llm, name="LLM")
        self.vlm = LLMClient(config.vlm, name="VLM") if config.vlm else self.llm
        self.total, self.done, self.cached = total, 0, 0
        self.on_progress = on_progress
        concurrency = config.llm.concurrency + config.rank_endpoint.concurrency
        self._records = asyncio.Semaphore(RECORDS_IN_FLIGHT_PER_REQUEST * concurrency)

    async def all(self, samples: list[Sample]) -> list[_Outcome]:
        """Every record's outcome, in input order; an endpoint that is down stops the run."""
        tasks = [asyncio.ensure_future(self._limited(sample)) for sample in samples]
        try:
            if tasks:
                await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in tasks:
                if task.done() and task.exception() is not None:
                    raise task.exception()
            return [task.result() for task in tasks]
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.llm.aclose()
            await self.vlm.aclose()

    async def _limited(self, sample: Sample) -> _Outcome:
        async with self._records:
            outcome = await self._record(sample)
        self.done += 1
        self._progressed()
        return outcome

    async def _record(self, sample: Sample) -> _Outcome:
        outcome = _Outcome(sample)
        try:
            for stage in (self._verify, self._reason, self._score):
                sample = await stage(sample, outcome)
                if sample is None:
                    break
        except ReplyUnreadable as error:
            outcome.note("failed", "unreadable replies", str(error))
        except (MediaError, DataError) as error:
            outcome.note("failed", "unreadable media" if isinstance(error, MediaError) else "bad record", str(error))
        return outcome

    async def _verify(self, sample: Sample, outcome: _Outcome) -> Sample | None:
        outcome.enter("verify")
        captions = self.captions.for_sample(sample)
        if not await self._qa_consistent(sample, captions, outcome):
            return None
        if sample.clue is not None:
            sample = await self._with_relevant_clue(sample, captions, outcome)
            if sample is None:
                return None
        outcome.note("kept")
        return sample

    async def _qa_consistent(self, sample: Sample, captions: Captions, outcome: _Outcome) -> bool:
        """False (noted as dropped) when the QA check fails or cannot run and must."""
        if not needs_qa_check(sample):
            why = "grounding-only record" if sample.task in GROUNDING_ONLY_TASKS else "no answer"
            outcome.note("unchecked", f"QA check: {why}")
            return True
        if captions.caption is None:
            if self.config.verify.require_caption:
                outcome.note("dropped", "no caption for the QA check")
                return False
            outcome.note("unchecked", "QA check: no caption")
            return True
        verdict = await self._ask("verify_qa", sample, self.llm,
                                  verify_qa_messages(self.config.prompts["verify_qa"], sample, captions),
                                  verdict_reader("consistent"))
        if not verdict["passed"]:
            outcome.note("dropped", "QA inconsistent with the caption", verdict["reason"])
        return verdict["passed"]

    async def _with_relevant_clue(self, sample: Sample, captions: Captions, outcome: _Outcome) -> Sample | None:
        """The sample, without its clue if that is irrelevant; None (dropped) if the clue was its label."""
        if captions.clue_caption is None:
            outcome.note("unchecked", "clue check: no clue_caption")
            return sample
        verdict = await self._ask("verify_clue", sample, self.llm,
                                  verify_clue_messages(self.config.prompts["verify_clue"], sample, captions),
                                  verdict_reader("relevant"))
        if verdict["passed"]:
            return sample
        if sample.task in GROUNDING_ONLY_TASKS:
            outcome.note("dropped", "irrelevant clue (the record's label)", verdict["reason"])
            return None
        outcome.note("trimmed", "irrelevant clue removed", verdict["reason"])
        return without_clue(sample)

    async def _reason(self, sample: Sample, outcome: _Outcome) -> Sample | None:
        outcome.enter("reason")
        if sample.think and not self.config.reason.overwrite:
            outcome.note("unchecked", "the record's own think kept")
            outcome.note("kept")
            return sample
        try:
            protocol_target(sample, self.config.protocol)
        except DataError as error:
            outcome.note("dropped", "no output format fits the record", str(error))
            return None
        captions = self.captions.for_sample(sample)
        think = await self._ask("reason", sample, self.llm,
                                reason_messages(self.config.prompts["reason"], sample, captions, self.config.protocol),
                                think_reader(sample, self.config.protocol))
        outcome.note("kept")
        return sample.model_copy(update={"think": think})

    async def _score(self, sample: Sample, outcome: _Outcome) -> Sample:
        outcome.enter("rank")
        prompt, protocol, settings = self.config.prompts["rank"], self.config.protocol, self.config.rank
        request = {"prompt": prompt.model_dump(), "protocol": protocol, "qa": qa_json(sample), "think": sample.think,
                   "views": views_request(sample, settings)}

        async def messages() -> list[dict]:
            views = await asyncio.to_thread(sample_views, sample, self.media_root, settings)
            return rank_messages(prompt, sample, protocol, views.description, views.content_parts())

        outcome.score = await self._ask("rank", sample, self.vlm, messages, read_scores, request=request)
        outcome.sample = sample
        return sample

    async def _ask(self, stage: str, sample: Sample, client: LLMClient, messages, read, *, request=None):
        """A cached answer, or ask (building the messages only then) and cache the answer."""
        key = request_key(client.settings, {"stage": stage, "request": messages if request is None else request})
        cached = self.cache.get(stage, sample.id, key)
        if cached is not None:
            self.cached += 1
            return cached.value
        if callable(messages):
            messages = await messages()
        answer = await client.ask(messages, read)
        self.cache.put(stage, sample.id, key, answer.value, answer.text)
        self._progressed()
        return answer.value

    def _progressed(self) -> None:
        if self.on_progress is None:
            return
        clients = {id(client): client for client in (self.llm, self.vlm)}.values()
        tokens = sum(client.usage.prompt_tokens + client.usage.completion_tokens for client in clients)
        cost = sum(client.usage.cost(client.settings) for client in clients)
        self.on_progress(BuildProgress(self.done, self.total, tokens, cost, self.cached))


def _rank_selection(outcomes: list[_Outcome], config: BuildConfig) -> None:
    """Keep the best `keep_share` of the scored records at or above `min_score` (ties: input order)."""
    candidates = []
    for outcome in (outcome for outcome in outcomes if outcome.score is not None):
        if outcome.score["score"] < config.rank.min_score:
            outcome.note("dropped", "score below min_score", _score_detail(outcome.score))
        else:
            candidates.append(outcome)
    ranked = sorted(candidates, key=lambda outcome: -outcome.score["score"])  # stable: input order on ties
    keep = math.ceil(round(config.rank.keep_share * len(ranked), 9))
    for position, outcome in enumerate(ranked):
        if position < keep:
            outcome.note("kept")
        else:
            outcome.note("dropped", f"outside the top {config.rank.keep_share:.0%}", _score_detail(outcome.score))


def _score_detail(score: dict) -> str:
    return f"score {score['score']:.2f}: {score.get('reason', '')}".rstrip(": ")


def _with_score(outcome: _Outcome) -> Sample:
    record = outcome.sample.model_dump(mode="json", exclude_none=True)
    record["meta"] = {**record.get("meta", {}), "rank_score": round(outcome.score["score"], 3)}
    return parse_sample(record)


def _report(outcomes: list[_Outcome], run: _Run) -> BuildReport:
    report = BuildReport(input_records=len(outcomes), cached_replies=run.cached)
    for outcome in outcomes:
        for stage in outcome.stages_entered:
            report.stages[stage].entered += 1
        for event in outcome.events:
            counts = report.stages[event["stage"]]
            if event["event"] == "kept":
                counts.kept += 1
            else:
                getattr(counts, event["event"])[event["reason"]] += 1
    clients = {"llm": run.llm} if run.vlm is run.llm else {"llm": run.llm, "vlm": run.vlm}
    for name, client in clients.items():
        usage = client.usage
        report.endpoints[name] = EndpointUsage(client.settings.model, usage.requests, usage.prompt_tokens,
                                               usage.completion_tokens, usage.cost(client.settings))
    return report


def _write_lists(paths: BuildPaths, outcomes: list[_Outcome]) -> None:
    """Dropped records and removed clues with their reasons; failed records with their errors."""
    with atomic_writer(paths.dropped) as dropped, atomic_writer(paths.failures) as failures:
        for outcome in outcomes:
            for event in outcome.events:
                line = {"id": outcome.sample.id, "stage": event["stage"], "reason": event["reason"],
                        "detail": event["detail"]}
                if event["event"] in ("dropped", "trimmed"):
                    dropped.write(json.dumps(line, ensure_ascii=False) + "\n")
                elif event["event"] == "failed":
                    failures.write(json.dumps(line, ensure_ascii=False) + "\n")
