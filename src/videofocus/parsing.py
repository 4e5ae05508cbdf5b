"""Completion text → Prediction. Model output is untrusted: nothing here evaluates it, nothing raises
on it, and whatever cannot be read unambiguously comes back as None ("nothing parsed").

Decisions (SPEC "Output protocol"), deliberate where the released VideoChat-R1 code differs:

- Tags are case-insensitive; `<glue>` is read as `<clue>`. Of several `<answer>` (or clue, think)
  blocks the LAST complete one counts: the last opening tag that a closing tag follows, up to the
  first closing tag after it, so `<answer><answer>B</answer></answer>` reads "B" and
  `<answer>A</answer><answer>B` (truncated) reads "A". The released
  code takes the first match; the last one is the model's final word (models quote the tags while
  thinking, and self-correct).
- Answer without tags: when the text has no answer/think/clue tag at all, the whole stripped text is
  the answer (the released code falls back the same way, and untagged base models need it). A text
  with an unclosed tag (truncated generation) has no answer.
- Clue: read from the clue block; without one, from the answer when the answer is nothing but a
  clue (`12.54 to 17.83`, `[(1, 2)]`, `[x0, y0, x1, y1]`: VideoChat-R1 puts the grounding there),
  or from the `"bbox_2d": [...]` entries of Qwen2.5-VL's native JSON grounding answer.
- Numbers: a bracketed group of 2 numbers is an interval, of 4 a box; bare numbers (no brackets)
  count when there are exactly 2 (an interval: `s to e`) or 4 (a box). A group holding NaN/inf, a
  magnitude above 1e7, or a count other than 2 or 4 makes the whole clue unreadable (None), and so
  do more than MAX_CLUE_NUMBERS numbers.
- Intervals: a negative start is clipped to 0 (the model means "from the start"); an interval whose
  end lies before its start (after clipping) is dropped, not swapped: swapping would reward a wrong
  output.
- Boxes: reversed boxes (x1 < x0 or y1 < y0) are dropped from `boxes`. `track` keeps every 4-number
  group in order (one per frame), reversed ones included, so that frames stay aligned; a reversed
  box scores IoU 0 (geometry.box_iou). The parser does not know the task: boxes and track are two
  readings of the same groups.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from videofocus.schema import OPTION_LETTERS

MAX_MAGNITUDE = 1e7
# No task asks for more (a 2048-frame track is 8192); bounds the work spent on garbage.
MAX_CLUE_NUMBERS = 16384

# No whitespace between "<" and the name: two adjacent optional runs would backtrack quadratically.
_TAG = re.compile(r"<(/?)(think|answer|clue|glue)\s*>", re.IGNORECASE)
# A number not glued to a word on its left ("bbox_2d" holds no number); nan/inf words poison a group.
_NUMBER = r"(?<![\w.])-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_CLUE_TOKEN = re.compile(rf"(?P<open>[\[(])|(?P<close>[\])])|(?P<number>{_NUMBER})"
                         r"|(?P<bad>\b(?:nan|inf|infinity)\b)", re.IGNORECASE)
_QWEN_BBOX = re.compile(r'"bbox_2d"\s*:\s*(\[[^\[\]]*\])')
# What a pure-clue answer may hold besides numbers: brackets, separators, "to", "from", units.
_CLUE_FILLER = re.compile(rf"{_NUMBER}|[\[\]()\s,;:~\-–—]+|\b(?:from|to|and)\b|(?:s|secs?|seconds?)\b",
                          re.IGNORECASE)


@dataclass(frozen=True)
class Prediction:
    """What a completion says. Each field is None when the text does not say it readably."""

    raw: str
    think: str | None = None
    answer: str | None = None
    intervals: list[tuple[float, float]] | None = None
    boxes: list[list[float]] | None = None
    track: list[list[float]] | None = None

    @property
    def has_clue(self) -> bool:
        return bool(self.intervals or self.boxes or self.track)


def parse_completion(text: str) -> Prediction:
    """Read think, answer and clue from a completion (module docstring: the rules). Never raises."""
    if not isinstance(text, str):
        return Prediction(raw="")
    tags = [(match.start(), match.end(), bool(match.group(1)), _tag_kind(match.group(2)))
            for match in _TAG.finditer(text)]
    think, answer, clue = (_last_block(text, tags, kind) for kind in ("think", "answer", "clue"))
    if answer is None and not tags:
        answer = text.strip() or None
    clue_groups = _read_clue(clue) if clue is not None else None
    if clue_groups is None and answer is not None:
        clue_groups = _read_answer_clue(answer)
    intervals, boxes, track = _interpret(clue_groups or [])
    return Prediction(raw=text, think=think, answer=answer, intervals=intervals, boxes=boxes, track=track)


def _tag_kind(name: str) -> str:
    name = name.lower()
    return "clue" if name == "glue" else name


def _last_block(text: str, tags: list[tuple[int, int, bool, str]], kind: str) -> str | None:
    """Stripped content of the last complete `kind` block: the last opening tag that some closing tag
    follows, up to the first such closing tag."""
    nearest_close = None
    for start, end, closing, tag_kind in reversed(tags):
        if tag_kind != kind:
            continue
        if closing:
            nearest_close = start
        elif nearest_close is not None:
            return text[end:nearest_close].strip()
    return None


def _read_answer_clue(answer: str) -> list[list[float]] | None:
    """Number groups of an answer that is nothing but a clue, or of its Qwen `bbox_2d` entries."""
    if not _CLUE_FILLER.sub("", answer).strip():
        return _read_clue(answer)
    qwen_boxes = " ".join(match.group(1) for match in _QWEN_BBOX.finditer(answer))
    return _read_clue(qwen_boxes) if qwen_boxes else None


def _read_clue(text: str) -> list[list[float]] | None:
    """The number groups of a clue text: the innermost bracketed groups, else all bare numbers as one
    group. None when a group holds a poisoned number (NaN, inf, too large), when there are more than
    MAX_CLUE_NUMBERS numbers, or when nothing is found."""
    groups: list[list[float]] = []
    count = 0
    stack: list[list[float] | None] = []  # None marks a group that contains another group
    bare: list[float] = []
    for match in _CLUE_TOKEN.finditer(text):
        if match.group("open"):
            if stack:
                stack[-1] = None
            stack.append([])
        elif match.group("close"):
            if stack:
                group = stack.pop()
                if group:
                    groups.append(group)
        elif match.group("bad"):
            return None
        else:
            number = _finite_number(match.group("number"))
            count += 1
            if number is None or count > MAX_CLUE_NUMBERS:
                return None
            if stack:
                if stack[-1] is not None:
                    stack[-1].append(number)
            else:
                bare.append(number)
    if not groups and bare:
        groups = [bare]
    return groups or None


def _finite_number(token: str) -> float | None:
    try:
        value = float(token)
    except (ValueError, OverflowError):
        return None
    return value if math.isfinite(value) and abs(value) <= MAX_MAGNITUDE else None


def _interpret(groups: list[list[float]]) -> tuple[list[tuple[float, float]] | None, list[list[float]] | None,
                                                   list[list[float]] | None]:
    """(intervals, boxes, track) from number groups; all None when any group is not 2 or 4 numbers."""
    if any(len(group) not in (2, 4) for group in groups):
        return None, None, None
    intervals = [(max(0.0, group[0]), group[1]) for group in groups if len(group) == 2]
    intervals = [(start, end) for start, end in intervals if end >= start]
    quads = [list(group) for group in groups if len(group) == 4]
    boxes = [box for box in quads if box[2] >= box[0] and box[3] >= box[1]]
    return intervals or None, boxes or None, quads or None


# ----- multiple choice -------------------------------------------------------------------------

_LETTER_ONLY = re.compile(r"^[(\[]?\s*([A-Za-z])\s*[)\]]?[.:]?$")
_LETTER_THEN_TEXT = re.compile(r"^[(\[]?([A-Z])(?:[)\]][.:]?|[.:])\s+\S")
# "The answer is B", "Answer: (B)"; and, weaker, "option B" / "choice B". Capital letters only.
# One optional whitespace run between fixed tokens each: "\s*:?\s*" would backtrack quadratically.
_ANSWER_PHRASE = re.compile(r"\banswer(?:\s+is)?(?:\s*:)?\s*(?:option\s+)?[(\[]?([A-Z])(?!\w)", re.IGNORECASE)
_OPTION_PHRASE = re.compile(r"\b(?:option|choice)(?:\s*:)?\s*[(\[]?([A-Z])(?!\w)", re.IGNORECASE)
_NOT_WORD = re.compile(r"[\W_]+")


def parse_option(text: str | None, options: list[str] | None = None) -> str | None:
    """The option letter a (stripped) answer names, or None when it names none or is ambiguous.

    Accepted: `B`, `b`, `(B)`, `[B]`, `B.`, `B:`, `B. text`, `(B) text`, `The answer is B`,
    `Answer: (B)`, `option B`, and the text of an option itself (case and punctuation ignored).
    With `options`, a letter beyond the last option is rejected. Never raises."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    letters = OPTION_LETTERS[: len(options)] if options else OPTION_LETTERS
    for found in (_letter_form(text), _option_text(text, options)):
        if found is not None:
            return found if found in letters else None
    return None


def _letter_form(text: str) -> str | None:
    for pattern in (_LETTER_ONLY, _LETTER_THEN_TEXT):
        match = pattern.match(text)
        if match:
            return match.group(1).upper()
    stated = [match.group(1) for match in _ANSWER_PHRASE.finditer(text) if match.group(1).isupper()]
    if stated:
        return stated[-1]
    named = {match.group(1) for match in _OPTION_PHRASE.finditer(text) if match.group(1).isupper()}
    return named.pop() if len(named) == 1 else None


def _option_text(text: str, options: list[str] | None) -> str | None:
    normal = _normalise(text)
    matches = [OPTION_LETTERS[index] for index, option in enumerate(options or [])
               if isinstance(option, str) and normal and _normalise(option) == normal]
    return matches[0] if len(matches) == 1 else None


def _normalise(text: str) -> str:
    return _NOT_WORD.sub(" ", text).strip().lower()
