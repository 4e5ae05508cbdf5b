"""The three stages' prompts, reply readers and decisions, for one record (VideoChat-R1.5 §3.2).

Which checks a record gets follows the paper's rules for heterogeneous sources:
- a record with an answer is a QA pair: verify checks it against the caption of its media;
- grounding-only records (temporal/spatial grounding, tracking: the clue is the label) skip the QA
  check;
- a clue is checked for relevance when its description (`clue_caption`) is known; an irrelevant
  clue drops a grounding-only record (its label is wrong) and is removed from a QA record (a
  grounded_qa record without its clue becomes an mcq record);
- every kept record gets a think tied to its clue when it has one, and a rank score.

Readers raise UnreadableReply for a reply they cannot read; the client asks again."""

from __future__ import annotations

import json

from videofocus.data.vtts.captions import Captions
from videofocus.data.vtts.config import Prompt
from videofocus.letters import OPTION_LETTERS
from videofocus.llm import UnreadableReply
from videofocus.parsing import Prediction, parse_completion
from videofocus.schema import Sample, parse_sample
from videofocus.tasks.spec import clue_text
from videofocus.train.targets import sft_target

GROUNDING_ONLY_TASKS = ("temporal_grounding", "spatial_grounding", "tracking")
RANK_CRITERIA = ("clarity", "relevance", "consistency")
_PROTOCOL_TAGS = ("<think", "</think", "<answer", "</answer", "<clue", "</clue", "<glue", "</glue")
_THINK_SLOT = "<think></think>"


def needs_qa_check(sample: Sample) -> bool:
    return sample.answer is not None and sample.task not in GROUNDING_ONLY_TASKS


def qa_json(sample: Sample) -> str:
    options = [f"{letter}. {text}" for letter, text in zip(OPTION_LETTERS, sample.options)] if sample.options else None
    answer = sample.answer
    if options and answer in OPTION_LETTERS:
        answer = options[OPTION_LETTERS.index(answer)]
    return json.dumps({"task": sample.task, "question": sample.question, "options": options, "answer": answer},
                      ensure_ascii=False)


def clue_notation(sample: Sample) -> str | None:
    """The sample's clue as the output protocol writes it."""
    clue = sample.clue
    if clue is None:
        return None
    track = [list(point.box) for point in clue.track] if clue.track else None
    return clue_text(Prediction(raw="", intervals=clue.intervals, boxes=clue.boxes, track=track))


# --- verify ---------------------------------------------------------------------------------------

def verify_qa_messages(prompt: Prompt, sample: Sample, captions: Captions) -> list[dict]:
    return prompt.render({"caption": _quoted(captions.caption), "qa": qa_json(sample)})


def verify_clue_messages(prompt: Prompt, sample: Sample, captions: Captions) -> list[dict]:
    return prompt.render({"caption": _quoted(captions.caption), "qa": qa_json(sample),
                          "clue": clue_notation(sample) or "", "clue_caption": _quoted(captions.clue_caption)})


def verdict_reader(key: str):
    """Reads {"<key>": true/false, "reason": "..."} into a JSON-able verdict dict."""
    def read(reply: str) -> dict:
        found = _json_object(reply)
        if not isinstance(found.get(key), bool):
            raise UnreadableReply(f'no true/false "{key}" in the reply')
        reason = found.get("reason", "")
        return {"passed": found[key], "reason": reason if isinstance(reason, str) else json.dumps(reason)}
    return read


def without_clue(sample: Sample) -> Sample:
    """The record with an irrelevant clue removed (grounded_qa becomes mcq: nothing to ground)."""
    record = sample.model_dump(mode="json", exclude_none=True)
    record.pop("clue", None)
    if record["task"] == "grounded_qa":
        record["task"] = "mcq"
    return parse_sample(record)


# --- reason ---------------------------------------------------------------------------------------

def protocol_target(sample: Sample, protocol: str) -> str:
    """The completion the think will open, think left empty; DataError if the record fills no format."""
    return sft_target(sample.model_copy(update={"think": ""}), protocol=protocol)


def reason_messages(prompt: Prompt, sample: Sample, captions: Captions, protocol: str) -> list[dict]:
    clue = clue_notation(sample)
    if clue is None:
        note = "There is no annotated clue: reason over the whole video or image."
    elif sample.task in GROUNDING_ONLY_TASKS:
        note = f"The clue {clue} is the answer: reason about what shows that the event or object is exactly there."
    else:
        note = f"The clue {clue} is where the evidence is: say what happens there and how it leads to the answer."
    target = protocol_target(sample, protocol).replace(_THINK_SLOT, "<think>(your reasoning)</think>")
    return prompt.render({"caption": _quoted(captions.caption), "qa": qa_json(sample), "target": target,
                          "clue_note": note})


def think_reader(sample: Sample, protocol: str):
    """Reads <think>…</think>: non-empty, no protocol tags inside, and the completion it makes reads
    back to the same think (so it is usable in the output protocol)."""
    def read(reply: str) -> str:
        think = parse_completion(reply).think
        think = think.strip() if think else ""
        if not think:
            raise UnreadableReply("no <think>…</think> block")
        if any(tag in think.lower() for tag in _PROTOCOL_TAGS):
            raise UnreadableReply("the think holds protocol tags")
        completion = sft_target(sample.model_copy(update={"think": think}), protocol=protocol)
        if parse_completion(completion).think != think:
            raise UnreadableReply("the think does not read back from the completion")
        return think
    return read


# --- rank -----------------------------------------------------------------------------------------

def rank_messages(prompt: Prompt, sample: Sample, protocol: str, views_description: str,
                  image_parts: list[dict]) -> list[dict]:
    system, user = prompt.render({"qa": qa_json(sample), "think": _quoted(sample.think),
                                  "target": sft_target(sample, protocol=protocol), "views": views_description})
    return [system, {"role": "user", "content": [*image_parts, {"type": "text", "text": user["content"]}]}]


def read_scores(reply: str) -> dict:
    """Reads the three 1-10 scores (and a reason); the score is their mean."""
    found = _json_object(reply)
    scores = {}
    for name in RANK_CRITERIA:
        value = found.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 1 <= value <= 10:
            raise UnreadableReply(f'"{name}" is not a number from 1 to 10')
        scores[name] = float(value)
    reason = found.get("reason", "")
    return {**scores, "score": sum(scores.values()) / len(scores),
            "reason": reason if isinstance(reason, str) else json.dumps(reason)}


# --- shared ---------------------------------------------------------------------------------------

def _quoted(text: str | None) -> str:
    return json.dumps(text, ensure_ascii=False)


def _json_object(reply: str) -> dict:
    """The JSON object in a reply (code fences and prose around it tolerated)."""
    start, end = reply.find("{"), reply.rfind("}")
    if start < 0 or end < start:
        raise UnreadableReply("no JSON object in the reply")
    try:
        found = json.loads(reply[start:end + 1])
    except (ValueError, RecursionError):
        raise UnreadableReply("the object in the reply is not valid JSON") from None
    if not isinstance(found, dict):
        raise UnreadableReply("the reply is not a JSON object")
    return found

