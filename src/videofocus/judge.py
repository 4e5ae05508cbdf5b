"""The LLM judge behind the caption reward (VideoChat-R1, seed 001, "Recall reward in video
captioning"): an LLM splits the reference caption into events, then says which events the predicted
caption entails; the reward is the entailed fraction.

The judge is any OpenAI-compatible chat endpoint (`POST {base_url}/v1/chat/completions`, a vLLM
server in practice), called with the standard library only. Requests time out and are retried with
exponential backoff; a judge that stays down, keeps failing, or keeps answering in a form that cannot
be read raises JudgeUnavailable. The reward is never silently zero because the judge failed.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
import urllib.error
import urllib.request
from collections import OrderedDict

from videofocus.errors import VideoFocusError

EXTRACT_SYSTEM = ("You split video descriptions into events. An event is one short sentence about one thing "
                  "that happens or is shown (an action, a change, a camera move, a notable object or setting).")
EXTRACT_USER = ("Split this video description into its events, in order. Reply with only a JSON list of "
                "strings, nothing else.\n\nDescription:\n{caption}")
ENTAIL_SYSTEM = ("You check whether a video description supports given events. An event is entailed when the "
                 "description states it or it follows directly from what the description states; it is not "
                 "entailed when the description contradicts it or does not mention it.")
ENTAIL_USER = ("Description:\n{description}\n\nEvents:\n{events}\n\nFor each numbered event, in order, say "
               "whether the description entails it. Reply with only a JSON list of {count} booleans "
               "(true = entailed), nothing else.")

_TRUE_WORDS = {"true", "yes", "entailed", "entailment", "entails"}
_FALSE_WORDS = {"false", "no", "not entailed", "contradiction", "neutral", "not_entailed"}


class JudgeUnavailable(VideoFocusError):
    """The caption judge could not be reached or did not answer usably after all retries."""


class _BadAnswer(Exception):
    """A judge reply that cannot be read; retried like a network failure."""


class CaptionJudge:
    """Event-recall judge over an OpenAI-compatible chat endpoint.

    `base_url` is the server root (`http://host:8000`) or its `/v1`; `retries` is how many times a
    failed request is retried (so 1 + retries attempts), waiting `backoff * 2**k` seconds before
    retry k. Events extracted from a reference caption are cached (GRPO scores G completions
    against the same reference)."""

    def __init__(self, base_url: str, model: str, *, api_key: str | None = None, timeout: float = 60.0,
                 retries: int = 3, backoff: float = 1.0, max_tokens: int = 1024, cache_size: int = 4096):
        root = base_url.rstrip("/")
        self.url = f"{root}/chat/completions" if root.endswith("/v1") else f"{root}/v1/chat/completions"
        self.model, self.api_key = model, api_key
        self.timeout, self.retries, self.backoff, self.max_tokens = timeout, retries, backoff, max_tokens
        self._events: OrderedDict[str, list[str]] = OrderedDict()
        self._cache_size = cache_size

    def recall(self, reference: str, prediction: str) -> float:
        """Fraction of the reference caption's events that the predicted caption entails."""
        if not prediction.strip():
            return 0.0  # nothing to judge: an honest zero, not a judge failure
        events = self.extract_events(reference)
        entailed = self.entailment(events, prediction)
        return sum(entailed) / len(events)

    def extract_events(self, caption: str) -> list[str]:
        """The events of a caption, as the judge lists them (cached per caption)."""
        if caption in self._events:
            self._events.move_to_end(caption)
            return self._events[caption]
        events = self._ask(EXTRACT_SYSTEM, EXTRACT_USER.format(caption=caption), _read_events)
        self._events[caption] = events
        if len(self._events) > self._cache_size:
            self._events.popitem(last=False)
        return events

    def entailment(self, events: list[str], description: str) -> list[bool]:
        """For each event, whether `description` entails it."""
        numbered = "\n".join(f"{number}. {event}" for number, event in enumerate(events, start=1))
        prompt = ENTAIL_USER.format(description=description, events=numbered, count=len(events))
        return self._ask(ENTAIL_SYSTEM, prompt, lambda reply: _read_verdicts(reply, len(events)))

    def _ask(self, system: str, user: str, read):
        """One judged question: chat, then read the reply; both retried together."""
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        last_problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                return read(self._chat(messages))
            except _BadAnswer as problem:
                last_problem = f"unreadable answer: {problem}"
        raise JudgeUnavailable(f"caption judge at {self.url} failed after {self.retries + 1} attempts "
                               f"({last_problem})")

    def _chat(self, messages: list[dict]) -> str:
        """The assistant text of one chat completion. Network errors, timeouts, 5xx and 429 become
        _BadAnswer (retried); other HTTP errors (bad key, unknown model) raise JudgeUnavailable now."""
        body = json.dumps({"model": self.model, "messages": messages, "temperature": 0.0,
                           "max_tokens": self.max_tokens}).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = json.loads(response.read().decode("utf-8", errors="replace"))
        except urllib.error.HTTPError as error:
            detail = error.read(300).decode("utf-8", errors="replace")
            if error.code >= 500 or error.code == 429:
                raise _BadAnswer(f"HTTP {error.code}") from None
            raise JudgeUnavailable(f"caption judge at {self.url} refused the request: HTTP {error.code} "
                                   f"{detail}") from None
        except (urllib.error.URLError, http.client.HTTPException, socket.timeout, ConnectionError) as error:
            raise _BadAnswer(f"cannot reach the server ({getattr(error, 'reason', error)})") from None
        except json.JSONDecodeError:
            raise _BadAnswer("the response is not JSON") from None
        try:
            return str(payload["choices"][0]["message"]["content"])
        except (KeyError, IndexError, TypeError):
            raise _BadAnswer("the response has no choices[0].message.content") from None


def _json_list(reply: str) -> list:
    """The JSON list in a reply (code fences and prose around it tolerated)."""
    start, end = reply.find("["), reply.rfind("]")
    if start < 0 or end < start:
        raise _BadAnswer("no JSON list in the reply")
    try:
        value = json.loads(reply[start:end + 1])
    except json.JSONDecodeError:
        raise _BadAnswer("the list in the reply is not valid JSON") from None
    if not isinstance(value, list):
        raise _BadAnswer("the reply is not a list")
    return value


def _read_events(reply: str) -> list[str]:
    events = [event.strip() for event in _json_list(reply) if isinstance(event, str) and event.strip()]
    if not events:
        raise _BadAnswer("no events in the reply")
    return events


def _read_verdicts(reply: str, count: int) -> list[bool]:
    verdicts = [_verdict(value) for value in _json_list(reply)]
    if len(verdicts) != count or None in verdicts:
        raise _BadAnswer(f"expected {count} true/false verdicts")
    return verdicts  # type: ignore[return-value]


def _verdict(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        return True if word in _TRUE_WORDS else False if word in _FALSE_WORDS else None
    return None
