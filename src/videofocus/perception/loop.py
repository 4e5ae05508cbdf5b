"""The iterative perception loop (VideoChat-R1.5, "ITP").

Round 1 shows the whole video (uniform frames; a tracking sample: the frames of its track, one box
asked for each) or the full image; the model answers with think, clue and answer. Round k+1 keeps
the frame budget and re-samples densely inside round k's interval(s) and sparsely elsewhere
(`perception.views.refocus`: our key-ratio rule or the released R1.5 rule), or shows the full image
plus crops of round k's boxes. A clue that cannot be read, that lies outside the video or image, or
that has no length (area) there makes the next round fall back to round 1's frames / the full image;
the round records why. With `keep_last_clue` (the released R1.5 loop) a round without a readable
time interval refocuses on the last one given instead. The prompt of every round but the last is
the protocol's `round_template` where it has one (R1.5: think + answer +
glue; the last round asks for the answer alone). The final answer is the last round's.

`perceive_batch` runs several samples round by round, so each round is one backend call over all
samples still running (samples that stop early drop out).
"""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from videofocus.backends.base import Backend, Generation
from videofocus.geometry import box_iou, temporal_iou
from videofocus.models.inputs import Prompt
from videofocus.parsing import Prediction, parse_completion, parse_option
from videofocus.perception.options import PerceptionOptions
from videofocus.perception.result import PerceptionResult, RoundCost, RoundResult, View
from videofocus.perception.views import (ImageSource, VideoSource, first_round_indices, lost_part, refocus,
                                         track_times)
from videofocus.schema import Sample
from videofocus.tasks import get_task
from videofocus.tasks.spec import TaskSpec


_CLUE_BLOCK = re.compile(r"<(clue|glue)\s*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class _Plan:
    """What the next round will show: frame indices (video) or boxes to crop (image), the clue that
    chose them (None: uniform / full view) and why the clue was not used, if it was not."""

    indices: np.ndarray | None = None
    boxes: list[list[float]] | None = None
    focus: tuple[tuple[float, ...], ...] | None = None
    fallback: str | None = None


@dataclass
class _Request:
    """A round's input for one sample, before the model is asked."""

    prompt: Prompt
    view: View
    decoded_frames: int = 0
    decode_seconds: float = 0.0


class _Run:
    """One sample going through the rounds."""

    def __init__(self, sample: Sample, task: TaskSpec, source: VideoSource | ImageSource,
                 options: PerceptionOptions):
        self.sample, self.task, self.source, self.options = sample, task, source, options
        self.rounds: list[RoundResult] = []
        self.predictions: list[Prediction] = []
        self.stop_reason = "rounds"
        self.done = False
        self.last_text: str | None = None
        if isinstance(source, VideoSource):
            self.first_view = first_round_indices(source.info, options.num_frames, options.fps, options.min_frames,
                                                  options.max_frames, track_times=track_times(sample))
            self.plan = _Plan(indices=self.first_view)
        else:
            self.first_view = None
            self.plan = _Plan()

    @property
    def media_type(self) -> str:
        return "video" if isinstance(self.source, VideoSource) else "image"

    # ----- building a round's input -----------------------------------------------------------

    def prompt_text(self) -> str:
        previous = self.predictions[-1] if self.options.carry_history and self.predictions else None
        last_round = len(self.rounds) + 1 >= self.options.rounds
        return self.task.build_prompt(self.sample, protocol=self.options.protocol, previous=previous,
                                      stage=self.options.stage, last_round=last_round)

    def repeats_last_round(self, text: str) -> bool:
        """Whether the next round would give the model exactly the last round's input."""
        if not self.rounds or text != self.last_text:
            return False
        last = self.rounds[-1].view
        if self.plan.indices is not None:
            return last.frame_indices == tuple(int(index) for index in self.plan.indices)
        return last.focus == self.plan.focus

    def request(self, text: str) -> _Request:
        self.last_text = text
        media_first = self.task.protocol_for(self.sample, self.options.protocol).media_first
        if isinstance(self.source, VideoSource):
            decoded = self.source.clip(self.plan.indices)
            view = View("video", frame_indices=tuple(int(i) for i in decoded.clip.indices),
                        timestamps=tuple(float(t) for t in decoded.clip.timestamps), focus=self.plan.focus)
            return _Request(Prompt(text=text, video=decoded.clip, media_first=media_first), view,
                            decoded.decoded_frames, decoded.seconds)
        image_view = self.source.view(self.plan.boxes or (), margin=self.options.crop_margin)
        view = View("image", image_size=self.source.size, crops=tuple(image_view.crops), focus=self.plan.focus)
        return _Request(Prompt(text=text, images=image_view.images, media_first=media_first), view)

    # ----- reading a round's output -------------------------------------------------------------

    def record(self, request: _Request, generation: Generation, backend: Backend) -> None:
        """Add the round that `generation` answered."""
        prediction = parse_completion(generation.text)
        cost = RoundCost(
            frames=self._frames_shown(request.view), decoded_frames=request.decoded_frames,
            visual_tokens=generation.visual_tokens, cached_visual_tokens=generation.cached_visual_tokens,
            accepted_draft_tokens=generation.accepted_draft_tokens, prompt_tokens=generation.prompt_tokens,
            completion_tokens=generation.completion_tokens,
            decode_seconds=request.decode_seconds, model_seconds=generation.seconds)
        self._append(prediction, RoundResult(
            round=len(self.rounds) + 1, view=request.view, output=generation.text, think=prediction.think,
            answer=prediction.answer,
            option=parse_option(prediction.answer, self.sample.options) if self.sample.options else None,
            intervals=prediction.intervals if self.media_type == "video" else None,
            boxes=self._boxes_in_original(prediction, generation, backend), track=prediction.track,
            fallback=self.plan.fallback, cost=cost))

    def record_repeat(self) -> None:
        """Add a round whose input equals the last round's: under deterministic decoding its output
        is the last output, so the model is not asked again."""
        last = self.rounds[-1]
        self._append(self.predictions[-1], replace(
            last, round=last.round + 1, view=replace(last.view, focus=self.plan.focus), fallback=self.plan.fallback,
            cost=RoundCost(frames=last.cost.frames, reused=True)))

    def _append(self, prediction: Prediction, result: RoundResult) -> None:
        self.rounds.append(result)
        self.predictions.append(prediction)
        self._decide_next()

    def _frames_shown(self, view: View) -> int:
        return len(view.frame_indices) if view.media_type == "video" else 1 + len(view.crops)

    def _boxes_in_original(self, prediction: Prediction, generation: Generation,
                           backend: Backend) -> list[list[float]] | None:
        if self.media_type != "image" or not prediction.boxes:
            return None
        original = self.source.size
        seen = generation.image_sizes[0] if generation.image_sizes else original
        return [backend.box_convention.to_original(box, original, seen) for box in prediction.boxes]

    def _decide_next(self) -> None:
        if len(self.rounds) >= self.options.rounds:
            self.done = True
        elif self.options.early_stop and len(self.rounds) >= 2 and _converged(
                self.rounds[-2], self.rounds[-1], self.options.early_stop_iou):
            self.done, self.stop_reason = True, "converged"
        else:
            self.plan = self._next_plan(self.rounds[-1])

    def _next_plan(self, last: RoundResult) -> _Plan:
        number = last.round
        if isinstance(self.source, VideoSource):
            clue_round = self._clue_round(last)
            if clue_round is None:
                return _Plan(indices=self.first_view,
                             fallback=f"round {number} gave no readable time interval; round 1's frames")
            focused = refocus(self.source.info, self.first_view, np.asarray(last.view.frame_indices),
                              clue_round.intervals, mode=self.options.sampling_mode, key_ratio=self.options.key_ratio)
            if focused.fallback is not None:
                return _Plan(indices=self.first_view,
                             fallback=f"round {clue_round.round}'s {focused.fallback}; round 1's frames")
            return _Plan(indices=focused.indices, focus=focused.focus)
        if not last.boxes:
            return _Plan(fallback=f"round {number} gave no readable box; full image only")
        inside = self.source.clip_boxes(last.boxes)[: self.options.max_crops]
        if not inside:
            return _Plan(fallback=f"round {number}'s {_lost_boxes(last.boxes, *self.source.size)}; "
                                  "full image only")
        return _Plan(boxes=inside, focus=tuple(tuple(box) for box in inside))

    def _clue_round(self, last: RoundResult) -> RoundResult | None:
        """The round whose intervals focus the next one: the last round, or with `keep_last_clue`
        the latest round that gave readable intervals, as the released loop keeps its clue through
        rounds without a clue block (a clue block it cannot read resets it: uniform frames)."""
        if last.intervals or not self.options.keeps_last_clue:
            return last if last.intervals else None
        for round_ in reversed(self.rounds):
            if round_.intervals:
                return round_
            if _CLUE_BLOCK.search(round_.output):
                return None
        return None

    def result(self) -> PerceptionResult:
        return PerceptionResult(id=self.sample.id, task=self.task.name, media_type=self.media_type,
                                rounds=list(self.rounds), stop_reason=self.stop_reason)


def _lost_boxes(boxes: Sequence[Sequence[float]], width: int, height: int) -> str:
    """Why cutting `boxes` to the image left nothing."""
    flat = [(x0 == x1 or y0 == y1) and x0 <= width and y0 <= height and x1 >= 0 and y1 >= 0
            for x0, y0, x1, y1 in boxes]
    return lost_part("box", "area", flat, f"the image ({width}x{height})")


def _converged(previous: RoundResult, current: RoundResult, min_iou: float) -> bool:
    """Same answer, and a clue that overlaps the previous one by at least `min_iou`."""
    if _answer_key(previous) != _answer_key(current):
        return False
    if previous.intervals or current.intervals:
        return temporal_iou(previous.intervals, current.intervals) >= min_iou
    if previous.boxes or current.boxes:
        before, now = previous.boxes or [], current.boxes or []
        return len(before) == len(now) and all(box_iou(a, b) >= min_iou for a, b in zip(before, now))
    return True


def _answer_key(round_: RoundResult) -> str | None:
    if round_.option is not None:
        return round_.option
    return " ".join(round_.answer.split()).casefold() if round_.answer is not None else None


def _generate(backend: Backend, prompts: list[Prompt], drafts: list[str | None]) -> list[Generation]:
    """`backend.generate`, with the previous rounds' outputs as drafts when the backend takes them."""
    if "drafts" in inspect.signature(backend.generate).parameters:
        return backend.generate(prompts, drafts=drafts)
    return backend.generate(prompts)


def _open_source(sample: Sample, media_root: str | os.PathLike | None, backend: Backend) -> VideoSource | ImageSource:
    """The sample's media; video frames decoded at the size the backend will resize them to, when it says."""
    # Whoever read the samples from a file checked their paths against its media root (eval, training).
    path = sample.media.resolve(media_root, allow_outside=True)
    if sample.media.type == "video":
        return VideoSource.open(path, sample.media.segment, decode_size=getattr(backend, "video_decode_size", None))
    return ImageSource.open(path)


def perceive_batch(samples: Sequence[Sample], backend: Backend, options: PerceptionOptions | None = None, *,
                   media_root: str | os.PathLike | None = None,
                   on_round: Callable[[int, RoundResult], None] | None = None) -> list[PerceptionResult]:
    """Iterative perception for several samples; one backend call per round over the samples still
    running. Raises MediaError for media that cannot be opened; a bad clue never raises.
    `on_round(i, round_)` is called as each round of `samples[i]` finishes (a server streams them).

    All the samples' clips of a round are held in memory at once: pass groups of a size the
    backend would batch anyway."""
    options = options or PerceptionOptions()
    runs = [_Run(sample, get_task(options.task or sample.task), _open_source(sample, media_root, backend), options)
            for sample in samples]
    report = on_round or (lambda _index, _round: None)
    while active := [run for run in runs if not run.done]:
        texts = [run.prompt_text() for run in active]
        asked = []
        for run, text in zip(active, texts):
            if backend.deterministic and run.repeats_last_round(text):
                run.record_repeat()
                report(runs.index(run), run.rounds[-1])
            else:
                asked.append((run, run.request(text)))
        drafts = [run.rounds[-1].output if run.rounds else None for run, _ in asked]
        generations = _generate(backend, [request.prompt for _, request in asked], drafts) if asked else []
        for (run, request), generation in zip(asked, generations):
            run.record(request, generation, backend)
            report(runs.index(run), run.rounds[-1])
    return [run.result() for run in runs]


def perceive(sample: Sample, backend: Backend, options: PerceptionOptions | None = None, *,
             media_root: str | os.PathLike | None = None) -> PerceptionResult:
    """Iterative perception for one sample (see `perceive_batch`)."""
    return perceive_batch([sample], backend, options, media_root=media_root)[0]
