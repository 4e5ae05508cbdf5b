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
  or from the `"bbox_2d": [...]` entries of Qwen2.5-VL's native JSON grounding answer. "Nothing but
  a clue" allows quotes (`"12.54 to 17.83"`, as the R1 prompt's example writes it), the words
  from/to/between/and, units and a final full stop: `from 12.5 to 17.8 seconds.` and `between 12.5
  and 17.8` are intervals; a sentence around them (`The event happens from …`) is not read, under
  every protocol (docs/protocols.md compares the released rules).
- Numbers: a bracketed group of 2 numbers is an interval, of 4 a box. Bare numbers (no brackets)
  written as ranges, `s to e` or `s - e` each (units allowed), joined by anything else (`12 to 17
  and 20 to 25`), are intervals; bare numbers without any range count when there are exactly 2 (an
  interval) or 4 (a box); a mix of ranges and loose numbers is unreadable. A group holding NaN/inf,
  a magnitude above 1e7, or a count other than 2 or 4 makes the whole clue unreadable (None), and so
  do more than MAX_CLUE_NUMBERS numbers.
- Timestamps: `m:ss` and `h:mm:ss` (fractions allowed) are seconds, and a time is never part of a
  box: a group holding one must be an interval. Any other colon form between digits (`1:5`, `0:75`)
  makes the clue unreadable rather than reading as two numbers.
- Intervals (raw and parsed predictions alike, `normalise_intervals`): every window is kept as the
  model wrote it, in its order. Nothing is clipped (no official evaluation clips: a negative start
  is penalised by the larger union) and nothing is swapped or dropped. A reversed window (end before
  start) is judged on its own wherever it is scored: as the top-1 window it scores 0 (as in
  moment_detr's and ReXTime's eval), while a reversed lower-ranked window leaves window 1 intact.
- Boxes (`normalise_boxes`): any reversed box (x1 < x0 or y1 < y0) leaves `boxes` None (the
  perception loop crops the boxes, and a reversed one cannot be cropped). `track` keeps every
  4-number group in order (one per frame), reversed ones included, so that frames stay aligned; a
  reversed box scores IoU 0 (geometry.box_iou). The parser does not know the task: boxes and track
  are two readings of the same groups.
- Options (`parse_option`): an answer that is an option's text (whole, or after an answer cue such
  as "The answer is") names that option; only an answer that opens with a bare letter form (`B`,
  `B.`, `(B) text`) is read as that letter first. A letter after a cue ("the answer is", "I
  choose", "the correct option is") counts only when nothing, sentence punctuation or exactly that
  letter's option text follows it: "The answer is A dog sleeping" is not option A unless A's text
  is "dog sleeping", and the article in "the answer is a cat" is no letter.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice

from videofocus.letters import OPTION_LETTERS

MAX_MAGNITUDE = 1e7
# No task asks for more (a 2048-frame track is 8192); bounds the work spent on garbage.
MAX_CLUE_NUMBERS = 16384

# No whitespace between "<" and the name: two adjacent optional runs would backtrack quadratically.
_TAG = re.compile(r"<(/?)(think|answer|clue|glue)\s*>", re.IGNORECASE)
# A number not glued to a word on its left ("bbox_2d" holds no number); nan/inf words poison a group.
# ASCII digits only (`\d` would take Arabic-Indic, fullwidth and other digits, which float() reads).
_NUMBER = r"(?<![\w.])-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
# Any digits joined by colons, so that a malformed time is refused whole instead of read as numbers.
_COLON_DIGITS = r"(?<![\w.])[0-9]+(?::[0-9]+)+(?:\.[0-9]*)?"
_CLOCK = re.compile(r"([0-9]+)(?::([0-5][0-9]))?:([0-5][0-9](?:\.[0-9]*)?)")
# A clue's values: (time, number, poison word), one of them set. The lookarounds (none follows a word
# character; their possible first characters) only speed the scan of long text.
_CLUE_VALUE = re.compile(rf"(?<!\w)(?=[0-9.\-ni])(?:({_COLON_DIGITS})|({_NUMBER})|(\b(?:nan|inf|infinity)\b))",
                         re.IGNORECASE)
# A clue's shape: its brackets, each opening one as "[" and each closing one as "]", and "#" for each value.
_NOT_SHAPE = re.compile(r"[^\[\]()#]+")
_ROUND_TO_SQUARE = str.maketrans("()", "[]")
# In a shape: an innermost bracketed group of values, or a run of values outside such groups.
_SHAPE_RUN = re.compile(r"\[(#+)\]|(#+)")
# What joins the two ends of a bare range, after the first end's unit ("12.5s - 17s"), with the spaces
# around it; seams between ranges are tested "#"-separated, many at once.
_RANGE_JOIN = r"\s*(?:(?:s|secs?|seconds?)\b\s*)?(?:to|-|–|—|~)\s*"
_SOME_SEAM_JOINS = re.compile(rf"(?:^|#){_RANGE_JOIN}(?=#|\Z)", re.IGNORECASE)
_EVERY_SEAM_JOINS = re.compile(rf"{_RANGE_JOIN}(?:#{_RANGE_JOIN})*", re.IGNORECASE)
_QWEN_BBOX = re.compile(r'"bbox_2d"\s*:\s*(\[[^\[\]]*\])')
# What a pure-clue answer may hold besides numbers: brackets, separators, quotes (VideoChat-R1's
# prompt shows its answer as "12.54 to 17.83", quotes included), "from"/"to"/"between"/"and", units,
# and a full stop at the end. The answer must be a run of them, each the first that matches where the
# last ended (possessive: nothing is tried again after a dead end).
_CLUE_FILLER = re.compile(rf"(?:{_NUMBER}|[\[\]()\s,;:~\-–—\"'“”‘’]+|\b(?:from|to|between|and)\b"
                          r"|(?:s|secs?|seconds?)\b|\.\s*$)*+", re.IGNORECASE)
# Every character _CLUE_FILLER can take: an answer holding any other is no pure clue, found in one
# fast pass before the filler's slower one (case-insensitive as the filler is: "ſ" is an "s").
_CLUE_FILLER_CHARS = re.compile(r"[0-9+.\[\]()\s,;:~\-–—\"'“”‘’abcdefmnorstw]*", re.IGNORECASE)


@dataclass(frozen=True)
class Prediction:
    """What a completion says. Each field is None when the text does not say it readably."""

    raw: str
    think: str | None = None
    answer: str | None = None
    intervals: list[tuple[float, float]] | None = None
    boxes: list[list[float]] | None = None
    track: list[list[float]] | None = None
    # Only prediction files state these (QVHighlights submissions), never model text: a confidence
    # per interval, in the intervals' order, and a saliency score per clip of the video.
    interval_scores: list[float] | None = None
    saliency: list[float] | None = None

    @property
    def has_clue(self) -> bool:
        return bool(self.intervals or self.boxes or self.track)


def parse_completion(text: str) -> Prediction:
    """Read think, answer and clue from a completion (module docstring: the rules). Never raises."""
    if not isinstance(text, str):
        return Prediction(raw="")
    tags = _tags(text)
    think, answer, clue = (_last_block(text, tags, kind) for kind in ("think", "answer", "clue"))
    if answer is None and not tags:
        answer = text.strip() or None
    clue_groups = _read_clue(clue) if clue is not None else None
    if clue_groups is None and answer is not None:
        clue_groups = _read_answer_clue(answer)
    intervals, boxes, track = _interpret(clue_groups or [])
    return Prediction(raw=text, think=think, answer=answer, intervals=intervals, boxes=boxes, track=track)


def _tags(text: str) -> list[tuple[int, int, bool, str]]:
    """(start, end, closing, kind) of every tag in the text, in order."""
    return [(match.start(), match.end(), bool(match.group(1)), _tag_kind(match.group(2)))
            for match in _TAG.finditer(text)]


def _tag_kind(name: str) -> str:
    name = name.lower()
    return "clue" if name == "glue" else name


def block_span(text: str, kind: str) -> tuple[int, int] | None:
    """Character span, tags included, of the `kind` block ("think", "answer" or "clue") that
    `parse_completion` reads; None when the text has no complete block of that kind."""
    tags = _tags(text)
    bounds = _last_block_bounds(tags, kind)
    return None if bounds is None else (bounds[0], bounds[3])


def _last_block(text: str, tags: list[tuple[int, int, bool, str]], kind: str) -> str | None:
    """Stripped content of the last complete `kind` block."""
    bounds = _last_block_bounds(tags, kind)
    return None if bounds is None else text[bounds[1]:bounds[2]].strip()


def _last_block_bounds(tags: list[tuple[int, int, bool, str]], kind: str) -> tuple[int, int, int, int] | None:
    """(opening tag start, content start, content end, closing tag end) of the last complete `kind`
    block: the last opening tag that some closing tag follows, up to the first such closing tag."""
    nearest_close = None
    for start, end, closing, tag_kind in reversed(tags):
        if tag_kind != kind:
            continue
        if closing:
            nearest_close = (start, end)
        elif nearest_close is not None:
            return start, end, nearest_close[0], nearest_close[1]
    return None


def _read_answer_clue(answer: str) -> list[list[float]] | None:
    """Number groups of an answer that is nothing but a clue, or of its Qwen `bbox_2d` entries."""
    if _CLUE_FILLER_CHARS.fullmatch(answer) and _CLUE_FILLER.fullmatch(answer):
        return _read_clue(answer)
    qwen_boxes = " ".join(match.group(1) for match in _QWEN_BBOX.finditer(answer))
    return _read_clue(qwen_boxes) if qwen_boxes else None


def _read_clue(text: str) -> list[list[float]] | None:
    """The number groups of a clue text: the innermost bracketed groups, else the bare numbers
    (module docstring). None when a number is poisoned (NaN, inf, too large, a malformed time), when
    there are more than MAX_CLUE_NUMBERS numbers, when a time sits in a group that is not an
    interval, or when nothing is found."""
    # "#" marks the values in the shape and separates seams: one in the text becomes "$", which reads
    # the same (no number, bracket, space or range word).
    parts = _CLUE_VALUE.split(text.replace("#", "$"), maxsplit=MAX_CLUE_NUMBERS + 1)
    gaps, times, numbers, poisons = parts[0::4], parts[1::4], parts[2::4], parts[3::4]
    if not times or len(times) > MAX_CLUE_NUMBERS or any(poisons):
        return None
    timed = any(times)
    values = ([_clock_seconds(time) if time else float(number) for time, number in zip(times, numbers)]
              if timed else list(map(float, numbers)))
    if None in values or max(map(abs, values)) > MAX_MAGNITUDE:  # float() of digits is never NaN
        return None
    shape = _NOT_SHAPE.sub("", "#".join(gaps)).translate(_ROUND_TO_SQUARE)
    groups = _bracketed_groups(shape) or _bare_groups(shape, gaps)
    if not groups or (timed and any(len(group) != 2 and any(map(times.__getitem__, group)) for group in groups)):
        return None
    return [list(map(values.__getitem__, group)) for group in groups]


def _bracketed_groups(shape: str) -> list[range]:
    """The values (indices) of each innermost bracketed group: an opening bracket, values, a closing
    one (the values of a group that holds another group, or that is never closed, belong to none)."""
    groups: list[range] = []
    index = 0
    for group, outside in _SHAPE_RUN.findall(shape):
        size = len(group or outside)
        if group:
            groups.append(range(index, index + size))
        index += size
    return groups


def _bare_groups(shape: str, gaps: list[str]) -> list[list[int]]:
    """The values (indices) outside every bracket as groups: one group of them all when no two are
    joined as a range (`s to e`), else one interval per range when every value is in one; none for
    a mix of the two. `gaps`: the text before each value, and after the last."""
    bare = list(range(len(shape))) if "[" not in shape and "]" not in shape else _outside_brackets(shape)
    # The text before each bare value but the first, which may join it to the bare value before. With
    # bracketed values between the two it holds a closing bracket: it joins nothing, as they are no range.
    seams = list(map(gaps.__getitem__, bare[1:]))
    if not _SOME_SEAM_JOINS.search("#".join(seams)):
        return [bare] if bare else []
    if len(bare) % 2 or not _EVERY_SEAM_JOINS.fullmatch("#".join(seams[0::2])) \
            or _SOME_SEAM_JOINS.search("#".join(seams[1::2])):
        return []
    return [bare[index:index + 2] for index in range(0, len(bare), 2)]


def _outside_brackets(shape: str) -> list[int]:
    """Indices of the values of a shape that no bracket encloses (a closing bracket with none open
    closes nothing)."""
    depth, index, outside = 0, 0, []
    for char in shape:
        if char == "#":
            if not depth:
                outside.append(index)
            index += 1
        elif char == "[":
            depth += 1
        elif depth:
            depth -= 1
    return outside


def _clock_seconds(token: str) -> float | None:
    """Seconds of an m:ss or h:mm:ss time; None for any other colon form."""
    match = _CLOCK.fullmatch(token)
    if match is None:
        return None
    first, middle, seconds = match.groups()
    hours, minutes = (first, middle) if middle else ("0", first)
    return _bounded(float(hours) * 3600 + float(minutes) * 60 + float(seconds))


def _bounded(value: float) -> float | None:
    return value if math.isfinite(value) and abs(value) <= MAX_MAGNITUDE else None


def _interpret(groups: list[list[float]]) -> tuple[list[tuple[float, float]] | None, list[list[float]] | None,
                                                   list[list[float]] | None]:
    """(intervals, boxes, track) from number groups; all None when any group is not 2 or 4 numbers."""
    if any(len(group) not in (2, 4) for group in groups):
        return None, None, None
    quads = [list(group) for group in groups if len(group) == 4]
    intervals = normalise_intervals([(group[0], group[1]) for group in groups if len(group) == 2])
    return intervals, normalise_boxes(quads), quads or None


def normalise_intervals(intervals: Sequence[tuple[float, float]] | None) -> list[tuple[float, float]] | None:
    """Predicted intervals as they are scored, raw or parsed (module docstring): every window as
    given, in order; None when there are none."""
    return list(intervals) if intervals else None


def normalise_boxes(boxes: Sequence[list[float]] | None) -> list[list[float]] | None:
    """Predicted boxes as they are scored, raw or parsed: None when there are none or any is reversed."""
    if not boxes or any(x1 < x0 or y1 < y0 for x0, y0, x1, y1 in boxes):
        return None
    return list(boxes)


# ----- multiple choice -------------------------------------------------------------------------

_LETTER_ONLY = re.compile(r"^[(\[]?\s*([A-Za-z])\s*[)\]]?[.:]?$")
# "B. text", "(B) text", "B: text"; a lower-case letter only with its bracket ("b) text").
_LETTER_THEN_TEXT = re.compile(r"^[(\[]?(?:([A-Z])(?:[)\]][.:]?|[.:])|([a-z])[)\]][.:]?)\s+\S")
# A letter opening the answer, to be followed by its own option text ("B, the red car").
_LEADING_LETTER = re.compile(r"^[(\[]?([A-Za-z])[)\]]?(?!\w)")
# "The answer is", "Answer:", "The correct option is", "I choose"; each followed by a letter in
# _ANSWER_PHRASE. One optional whitespace run between fixed tokens each: "\s*:?\s*" would backtrack
# quadratically.
# The lookahead on the first letters only speeds the scan (a case-insensitive alternation is tried in
# full at every position otherwise: ~4x slower on long answers).
_CUE = r"(?=[aocps])\b(?:answer(?:\s+is)?|(?:option|choice)\s+is|choose|chose|pick|select)\b(?:\s*:)?"
_ANSWER_CUE = re.compile(_CUE, re.IGNORECASE)
_ANSWER_PHRASE = re.compile(_CUE + r"\s*(?:option\s+)?[(\[]?([A-Za-z])(?!\w)", re.IGNORECASE)
# What may follow a letter after a cue for it to stand as the answer: nothing, or sentence punctuation.
_STATEMENT_END = re.compile(r"[ \t]*(?:[.,;:!?)\]\r\n]|\Z)")
# Weaker: "option B" / "choice B", capital letters only, counted when the text names just one.
_OPTION_PHRASE = re.compile(r"(?=[oc])\b(?:option|choice)(?:\s*:)?\s*[(\[]?([A-Z])(?!\w)", re.IGNORECASE)
_NOT_WORD = re.compile(r"[\W_]+")
_WORD_CHAR = re.compile(r"[^\W_]")


def parse_option(text: str | None, options: list[str] | None = None) -> str | None:
    """The option letter a (stripped) answer names, or None when it names none or is ambiguous.

    Accepted, in this order of precedence: `B`, `b`, `(B)`, `[B]`, `B.`, `B:`, `**B**`; `B. text`,
    `(B) text`, `b) text`; the text of an option itself, alone or after an answer cue (case and
    punctuation ignored); `B, its text`, `B - its text`; `The answer is B`, `Answer: (B)`,
    `answer: b`, `The correct option is B.`, `I choose B.` (module docstring: when such a letter
    counts); `option B`. With `options`, a letter beyond the last option is rejected. Never raises."""
    if not isinstance(text, str):
        return None
    text = text.replace("*", "").replace("`", "").strip()  # markdown around the answer: "**B**"
    letters = OPTION_LETTERS[: len(options)] if options else OPTION_LETTERS
    for read in (_letter_form, _option_text, _letter_with_its_text, _stated_letter, _named_letter):
        found = read(text, options)
        if found is not None:
            return found if found in letters else None
    return None


def _letter_form(text: str, options: list[str] | None) -> str | None:
    for pattern in (_LETTER_ONLY, _LETTER_THEN_TEXT):
        match = pattern.match(text)
        if match:
            return next(letter for letter in match.groups() if letter).upper()
    return None


def _option_text(text: str, options: list[str] | None) -> str | None:
    """The option whose text the answer is, whole or after its last answer cue."""
    if not options:
        return None
    normals = [normalise_text(option) if isinstance(option, str) else "" for option in options]
    longest = max(map(len, normals))
    cue_ends = [match.end() for match in _ANSWER_CUE.finditer(text)]
    for candidate in (text, text[cue_ends[-1]:] if cue_ends else ""):
        normal = _normal_within(candidate, longest)
        matches = [letter for letter, option in zip(OPTION_LETTERS, normals) if option and option == normal]
        if len(matches) == 1:
            return matches[0]
    return None


def _letter_with_its_text(text: str, options: list[str] | None) -> str | None:
    match = _LEADING_LETTER.match(text)
    if match and _is_text_of(match.group(1), text[match.end():], options):
        return match.group(1).upper()
    return None


def _stated_letter(text: str, options: list[str] | None) -> str | None:
    """The letter of the last answer cue that stands alone (nothing or punctuation after it; for the
    very last cue, its own option text after it too)."""
    matches = list(_ANSWER_PHRASE.finditer(text))
    if matches and _is_text_of(matches[-1].group(1), text[matches[-1].end():], options):
        return matches[-1].group(1).upper()
    standing = [match for match in matches if _STATEMENT_END.match(text, match.end())]
    return standing[-1].group(1).upper() if standing else None


def _named_letter(text: str, options: list[str] | None) -> str | None:
    named = {match.group(1) for match in _OPTION_PHRASE.finditer(text) if match.group(1).isupper()}
    return named.pop() if len(named) == 1 else None


def _is_text_of(letter: str, text: str, options: list[str] | None) -> bool:
    """Whether `text` is the text of option `letter` (case and punctuation ignored)."""
    index = OPTION_LETTERS.find(letter.upper())
    option = options[index] if options and 0 <= index < len(options) else None
    return isinstance(option, str) and bool(normalise_text(option)) and same_text(text, option)


def normalise_text(text: str) -> str:
    """Lower case, punctuation and underscores as single spaces: how answers and option texts compare."""
    return _NOT_WORD.sub(" ", text).strip().lower()


def same_text(text: str, reference: str) -> bool:
    """Whether `text` and `reference` are the same after `normalise_text`."""
    normal = normalise_text(reference)
    return _normal_within(text, len(normal)) == normal


def _normal_within(text: str, limit: int) -> str | None:
    """`normalise_text(text)`, or None when it is longer than `limit` characters, told without
    normalising a text with more letters and digits than that (normalising keeps each as at least
    one character): a long answer compared with short options costs no pass over all of it."""
    if next(islice(_WORD_CHAR.finditer(text), limit, None), None) is not None:
        return None
    normal = normalise_text(text)
    return normal if len(normal) <= limit else None
