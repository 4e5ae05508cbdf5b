"""Supervised targets: a sample's think / clue / answer written the way its task asks the model to write
them under a protocol. The task registry is the judge of the layout: each task's format regex says
which blocks, in which order, with which tag (`<clue>` or VideoChat's `<glue>`, an interval list or
"s to e" inside `<answer>`); the first candidate it accepts is the target. Contents are the sample's
own annotations. One exception: a format that demands a clue from a sample without one (the canonical
MCQ format asks every answer for its evidence) gets the whole video / whole image as the clue, the
honest "the evidence is somewhere in here" (never a sample whose clue is the label itself)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from videofocus.errors import DataError
from videofocus.schema import Sample
from videofocus.tasks import get_task
from videofocus.tasks.spec import format_numbers
from videofocus.tasks.tracking import normalised_track

BoxMap = Callable[[list[float]], list[float]]


def sft_target(sample: Sample, *, protocol: str = "videofocus", box_to_model: BoxMap = list) -> str:
    """The completion a perfect model would write for `sample`. `box_to_model` maps a box from the
    sample's original pixels to the coordinates the model writes (they depend on the model family
    and the size at which it saw the image). DataError when the sample lacks what its task's format
    needs."""
    task = get_task(sample.task)
    for text in _candidates(sample, _clue_texts(sample, box_to_model)):
        if task.format_ok(sample, text, protocol):
            return text
    if sample.clue is None and sample.answer is not None:   # a labelled answer whose format wants evidence
        for text in _candidates(sample, _whole_media_clue(sample, box_to_model)):
            if task.format_ok(sample, text, protocol):
                return text
    raise DataError(f"sample {sample.id!r} has no annotation that fills the {sample.task} format of protocol "
                    f"{protocol!r} (it needs e.g. its clue or answer)", field="clue")


def _candidates(sample: Sample, clues: list[str]) -> Iterator[str]:
    """Every plausible layout of the sample's think, `clues` (alternative renderings of its clue) and
    answer; the canonical <think><clue><answer> first."""
    answers = [_answer_text(sample)] if sample.answer is not None else clues
    thinks = [f"<think>{sample.think or ''}</think>", ""]
    for think in thinks:
        for clue in clues:
            for tag in ("clue", "glue"):
                block = f"<{tag}>{clue}</{tag}>"
                for answer in answers if sample.answer is not None else []:
                    yield f"{think}{block}<answer>{answer}</answer>"
                    yield f"{think}<answer>{answer}</answer>{block}"
                yield f"{think}{block}"
        for answer in answers:
            yield f"{think}<answer>{answer}</answer>"


def _answer_text(sample: Sample) -> str:
    return str(sample.answer)


def _clue_texts(sample: Sample, box_to_model: BoxMap) -> list[str]:
    clue = sample.clue
    if clue is None:
        return []
    if clue.intervals:
        spans = [(float(start), float(end)) for start, end in clue.intervals]
        texts = ["[" + ", ".join(f"({start:.2f}, {end:.2f})" for start, end in spans) + "]"]
        if len(spans) == 1:
            texts.append(f"{spans[0][0]:.2f} to {spans[0][1]:.2f}")
        return texts
    if clue.boxes:
        boxes = [box_to_model(list(box)) for box in clue.boxes]
        return [format_numbers(boxes[0])] if len(boxes) == 1 else \
            ["[" + ", ".join(format_numbers(box) for box in boxes) + "]"]
    # Normalised coordinates: two decimals would cost ~5% IoU on small frames.
    return ["[" + ", ".join("[" + ", ".join(f"{value:.3f}" for value in box) + "]"
                            for box in normalised_track(sample)) + "]"]


def _whole_media_clue(sample: Sample, box_to_model: BoxMap) -> list[str]:
    media = sample.media
    if media.type == "video":
        return [f"[(0.00, {media.duration:.2f})]"] if media.duration else []
    if media.width and media.height:
        return [format_numbers(box_to_model([0.0, 0.0, float(media.width), float(media.height)]))]
    return []
