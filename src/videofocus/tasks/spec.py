"""A task is data registered by name (lmms-eval style): prompt templates per protocol, the format
regex per protocol, the rewards it can earn, the benchmarks (videofocus.metrics) it is scored on.

Protocols (what the model is asked to write):
- "videofocus": the canonical protocol, `<think>…</think><clue>…</clue><answer>…</answer>` with the
  clue kind and its units spelled out (seconds from the start of the video; pixels of the image the
  model sees; tracking boxes normalised 0–1, as VideoChat-R1 trained them).
- "videochat_r1": the released VideoChat-R1 prompts (think + answer, `<glue>` for grounded QA,
  temporal grounding answered as "12.54 to 17.83"), so released R1 checkpoints see what they were
  trained on; "videochat_r1_nothink": the same release's no-think prompts (the non-thinking
  checkpoint).
- "videochat_r1_5": the prompts of the released VideoChat-R1.5 code (training `task_prompts`: no
  think, intervals as `[(s1, e1), …]` inside `<answer>`, `<glue>` clues; its evaluation asks for
  think + answer + glue in every ITP round but the last, and for the answer alone in the last).

Each released protocol is byte-identical to the release where the release states it (tests compare
against tests/data/released_prompts/, which name each template's file and commit): a Protocol keeps
the evaluation template, the training template where training differs (`stage="train"`), the
template of the ITP rounds before the last where those differ, and the order of media and text.
docs/protocols.md lists every remaining difference.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from string import Template
from typing import TYPE_CHECKING

from videofocus.errors import ConfigError, DataError
from videofocus.letters import OPTION_LETTERS
from videofocus.parsing import Prediction

if TYPE_CHECKING:
    from videofocus.schema import Sample

PROTOCOLS = ("videofocus", "videochat_r1", "videochat_r1_nothink", "videochat_r1_5")
STAGES = ("eval", "train")
ClueKind = str  # "temporal" | "spatial" | "tracking"

# ----- format regex building blocks (linear-time: no two unbounded runs can trade characters) -----

_BLOCK_TAG = r"</?(?:think|answer|clue|glue)\s*>"
FREE_TEXT = rf"(?:(?!{_BLOCK_TAG}).)*"  # any text holding none of the block tags
# ASCII digits only: `\d` also matches Arabic-Indic, fullwidth and other digits.
NUMBER = r"-?[0-9]+(?:\.[0-9]+)?"
INTERVAL_LIST = rf"\[\s*\(\s*{NUMBER}\s*,\s*{NUMBER}\s*\)(?:\s*,\s*\(\s*{NUMBER}\s*,\s*{NUMBER}\s*\))*\s*\]"
SPAN_TO = rf"{NUMBER}\s*(?:to|-)\s*{NUMBER}"
BOX = rf"\[\s*{NUMBER}\s*,\s*{NUMBER}\s*,\s*{NUMBER}\s*,\s*{NUMBER}\s*\]"
BOX_LIST = rf"\[\s*{BOX}(?:\s*,\s*{BOX})*\s*\]"
OPTION_ANSWER = r"\s*[(\[]?[A-Z][)\]]?\.?\s*"


def padded(content: str) -> str:
    """`content` with optional whitespace around it (only for contents that start and end with a
    bracket or a digit: free text must not be padded, or two runs could trade spaces)."""
    return rf"\s*(?:{content})\s*"


def tagged(*blocks: tuple[str, str]) -> re.Pattern[str]:
    """A regex matching exactly the given (tag, content regex) blocks in order, whitespace between."""
    body = r"\s*".join(rf"<{tag}>{content}</{tag}>" for tag, content in blocks)
    return re.compile(rf"\s*{body}\s*", re.DOTALL)


CLUE_CONTENT = {kind: padded(content) for kind, content in
                (("temporal", INTERVAL_LIST), ("spatial", BOX), ("tracking", BOX_LIST))}


@dataclass(frozen=True)
class Protocol:
    """One protocol's prompt for a task: `string.Template`s over the prompt variables, and the regex
    a well-formed completion matches in full.

    template: the prompt of a single pass, and of the last ITP round.
    train_template: the released training prompt where it differs from `template` (None: the same).
    round_template: the prompt of ITP rounds before the last, where the release asks for more there
        (VideoChat-R1.5 evaluation: think + answer + glue, so that the next round can refocus).
    train_question: how training rewrites the question first (VideoChat-R1 lowercases the grounding
        query and drops its final ".").
    media_first: whether the video/images come before the text in the user turn."""

    template: str
    format_pattern: re.Pattern[str]
    train_template: str | None = None
    round_template: str | None = None
    train_question: Callable[[str], str] | None = None
    media_first: bool = True

    def template_for(self, stage: str = "eval", last_round: bool = True) -> str:
        if stage not in STAGES:
            raise ConfigError(f"unknown prompt stage {stage!r}; choose one of {', '.join(STAGES)}")
        if stage == "train":
            return self.train_template or self.template
        return self.template if last_round or self.round_template is None else self.round_template


@dataclass(frozen=True)
class TaskSpec:
    """Everything task-specific. `protocols` maps protocol name → Protocol; `image_protocols`
    overrides them for image samples (a clue in an image is a box, not an interval).
    `variables(sample)` supplies the template's placeholders."""

    name: str
    clue_kind: ClueKind | None
    reward_names: tuple[str, ...]
    benchmarks: tuple[str, ...]  # metrics.BENCHMARKS names its evaluation follows, the usual one first
    protocols: Mapping[str, Protocol]
    variables: Callable[[Sample], dict[str, str]]
    image_protocols: Mapping[str, Protocol] = field(default_factory=dict)
    image_clue_kind: ClueKind | None = None

    @property
    def format_pattern(self) -> re.Pattern[str]:
        """The canonical ("videofocus") format regex for video samples."""
        return self.protocols["videofocus"].format_pattern

    def clue_kind_for(self, sample: Sample) -> ClueKind | None:
        """The kind of clue the model is asked for on this sample."""
        if sample.media.type == "image" and self.image_clue_kind is not None:
            return self.image_clue_kind
        return self.clue_kind

    def protocol_for(self, sample: Sample, protocol: str = "videofocus") -> Protocol:
        """The Protocol used for this sample (ConfigError for an unknown protocol name)."""
        if protocol not in PROTOCOLS:
            raise ConfigError(f"unknown prompt protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")
        if sample.media.type == "image" and protocol in self.image_protocols:
            return self.image_protocols[protocol]
        return self.protocols[protocol]

    def build_prompt(self, sample: Sample, *, protocol: str = "videofocus", previous: Prediction | None = None,
                     stage: str = "eval", last_round: bool = True) -> str:
        """The user text for `sample`. `stage`: "eval" (inference) or "train" (the released training
        prompt where it differs). `last_round`: False for ITP rounds before the last (the released
        R1.5 loop asks for a clue there). `previous` (iterative perception) appends the last
        round's think/clue/answer so the model can refine them instead of starting over."""
        chosen = self.protocol_for(sample, protocol)
        variables = self.variables(sample)
        if stage == "train" and chosen.train_question is not None:
            variables = {**variables, "question": chosen.train_question(variables["question"])}
        text = Template(chosen.template_for(stage, last_round)).substitute(variables)
        return text + previous_round_note(previous) if previous is not None else text

    def format_ok(self, sample: Sample, completion: str, protocol: str = "videofocus") -> bool:
        """Whether the whole completion matches this task's format for `protocol`."""
        return self.protocol_for(sample, protocol).format_pattern.fullmatch(completion) is not None


_REGISTRY: dict[str, TaskSpec] = {}


def register_task(spec: TaskSpec) -> TaskSpec:
    """Add a task to the registry (a name registers once)."""
    if spec.name in _REGISTRY:
        raise ValueError(f"task {spec.name!r} is already registered")
    missing = set(PROTOCOLS) - set(spec.protocols)
    if missing:
        raise ValueError(f"task {spec.name!r} lacks protocols {sorted(missing)}")
    _REGISTRY[spec.name] = spec
    return spec


def get_task(name: str) -> TaskSpec:
    """The registered task called `name`; ConfigError naming the known tasks otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown task {name!r}; known tasks: {', '.join(sorted(_REGISTRY))}") from None


def task_names() -> list[str]:
    return sorted(_REGISTRY)


# ----- prompt variables shared by several tasks ---------------------------------------------------

def options_block(sample: Sample) -> str:
    """Options one per line, "A. text"."""
    return "\n".join(f"{letter}. {text}" for letter, text in zip(OPTION_LETTERS, sample.options or []))


def options_inline(sample: Sample) -> str:
    """Options as the released VideoChat code renders them in training and in its R1 evaluation:
    `str(options)` of the NExT-GQA annotation, a Python list of "(A) text"."""
    return str([f"({letter}) {text}" for letter, text in zip(OPTION_LETTERS, sample.options or [])])


def options_lines(sample: Sample) -> str:
    """Options as the released VideoChat-R1.5 MCQ evaluation renders them: each "A. text" line
    followed by a newline (VideoMME's own option strings)."""
    return "".join(f"{letter}. {text}\n" for letter, text in zip(OPTION_LETTERS, sample.options or []))


def released_training_query(query: str) -> str:
    """The grounding query as VideoChat-R1's training reads it: stripped, lowercased, final "." dropped."""
    query = query.strip().lower()
    return query[:-1] if query.endswith(".") else query


def duration_note(sample: Sample) -> str:
    duration = sample.media.duration
    return f" The video is {duration:.2f} seconds long." if duration else ""


# The question sentence of the released VideoChat-R1 / R1.5 QA prompts (the R1.5 evaluation lists
# the options one per line instead: ${options_lines}).
RELEASED_VIDEO_QUESTION = ('Answer the question: "${question}" according to the content of the video. '
                           "Select the answer from :${options_inline}.")
# The sentence the released VideoChat-R1 adds to every think prompt it trains its grounding tasks with.
TIMESTEP_THINK = ("Output your thought process within the <think> </think> tags, including analysis with either "
                  "specific timestamps (xx.xx) or time ranges (xx.xx to xx.xx) in <timestep> </timestep> tags.")


def question_variables(sample: Sample) -> dict[str, str]:
    return {"question": sample.question, "options": options_block(sample),
            "options_inline": options_inline(sample), "options_lines": options_lines(sample),
            "duration_note": duration_note(sample)}


def require_frame_size(sample: Sample) -> tuple[int, int]:
    """(width, height) of the sample's media; DataError when the sample does not say."""
    if sample.media.width is None or sample.media.height is None:
        raise DataError(f"sample {sample.id!r} needs media.width and media.height to normalise its boxes",
                        field="media.width")
    return sample.media.width, sample.media.height


def format_numbers(values: list[float]) -> str:
    return "[" + ", ".join(f"{value:.2f}" for value in values) + "]"


def clue_text(prediction: Prediction) -> str | None:
    """A prediction's clue in protocol notation, or None when it has none."""
    if prediction.intervals:
        return "[" + ", ".join(f"({start:.2f}, {end:.2f})" for start, end in prediction.intervals) + "]"
    if prediction.track and len(prediction.track) > 1:
        return "[" + ", ".join(format_numbers(box) for box in prediction.track) + "]"
    if prediction.boxes:
        return format_numbers(prediction.boxes[0]) if len(prediction.boxes) == 1 else \
            "[" + ", ".join(format_numbers(box) for box in prediction.boxes) + "]"
    return None


def previous_round_note(previous: Prediction) -> str:
    """The last ITP round, quoted back to the model."""
    parts = [f"<{tag}>{value}</{tag}>" for tag, value in
             (("think", previous.think), ("clue", clue_text(previous)), ("answer", previous.answer)) if value]
    quoted = "".join(parts) if parts else "(no readable output)"
    return ("\n\nYour previous round answered:\n" + quoted +
            "\nThe visual input has now been re-sampled around that clue (denser frames inside it, or a "
            "zoomed crop). Look again, correct the clue if needed, and answer in the same format.")
