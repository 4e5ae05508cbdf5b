"""The request body of `POST /v1/chat/completions`: OpenAI's shape, with the parts this server reads.

Fields OpenAI defines that do not apply here (top_p, n, stop, …) are accepted and ignored, so
existing clients work unchanged. The `videofocus` field (the openai client's `extra_body`) picks
the task, the answer options, the number of rounds and whether the trace carries frame thumbnails.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from videofocus.serve.errors import bad_request

class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class URL(_Lenient):
    url: str = Field(min_length=1)


class TextPart(_Lenient):
    type: Literal["text"]
    text: str


class ImagePart(_Lenient):
    type: Literal["image_url"]
    image_url: URL


class VideoPart(_Lenient):
    type: Literal["video_url"]
    video_url: URL


ContentPart = Annotated[TextPart | ImagePart | VideoPart, Field(discriminator="type")]


class Message(_Lenient):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None


class VideofocusOptions(BaseModel):
    """The request's own settings of the loop (all optional)."""

    model_config = ConfigDict(extra="forbid")
    task: str | None = None
    options: list[str] | None = Field(default=None, min_length=2, max_length=26)
    rounds: int | None = Field(default=None, ge=1)
    thumbnails: bool = False


class ChatRequest(_Lenient):
    model: str
    messages: list[Message] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    stream: bool = False
    videofocus: VideofocusOptions = Field(default_factory=VideofocusOptions)

    @property
    def token_limit(self) -> int | None:
        """Most tokens per round's completion (`max_completion_tokens` is OpenAI's newer name)."""
        return self.max_completion_tokens or self.max_tokens


@dataclass(frozen=True)
class Question:
    """What the messages ask: the question text and the one video or image it is about, with
    where in the request the media reference sits (for error messages); no media for a text-only
    request, which also keeps the system / developer messages' text."""

    text: str
    media_type: str | None = None
    media_url: str | None = None
    media_param: str | None = None
    system: str | None = None


def read_question(request: ChatRequest) -> Question:
    """The last user message's text and its one video or image (or none). A 400 APIError when there
    is no user message, no question text, or more than one media part (the loop samples the frames
    itself, so it needs the video, not frames cut from it)."""
    users = [(index, message) for index, message in enumerate(request.messages) if message.role == "user"]
    if not users:
        raise bad_request("the messages have no user message", param="messages")
    index, message = users[-1]
    parts = _parts(message)
    text = _text(parts)
    media = [(position, part) for position, part in enumerate(parts) if not isinstance(part, TextPart)]
    where = f"messages[{index}].content"
    if len(media) > 1:
        raise bad_request(f"the last user message has {len(media)} video_url/image_url parts; send at most one "
                          "(a whole video: the server samples its frames round by round)", param=where)
    if not text:
        raise bad_request("the last user message has no text: ask a question", param=where)
    if not media:
        system = "\n\n".join(_text(_parts(message)) for message in request.messages
                               if message.role in ("system", "developer"))
        return Question(text, system=system or None)
    position, part = media[0]
    if isinstance(part, VideoPart):
        return Question(text, "video", part.video_url.url, f"{where}[{position}].video_url.url")
    return Question(text, "image", part.image_url.url, f"{where}[{position}].image_url.url")


def _parts(message: Message) -> list[TextPart | ImagePart | VideoPart]:
    if isinstance(message.content, str):
        return [TextPart(type="text", text=message.content)]
    return list(message.content or [])


def _text(parts: list[TextPart | ImagePart | VideoPart]) -> str:
    return "\n".join(part.text for part in parts if isinstance(part, TextPart)).strip()
