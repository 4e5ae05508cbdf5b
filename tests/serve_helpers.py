"""Media, scripted backends and raw HTTP for the `videofocus serve` tests."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from pathlib import Path

from perception_helpers import completion, write_image, write_ramp_video

from videofocus.backends import ScriptedBackend

VIDEO_SECONDS = 10.0
IMAGE_SIZE = (300, 200)


def make_media_root(root: Path) -> Path:
    """A media root with a 10 s video (clips/ramp.mp4) and a 300x200 image (photo.png)."""
    (root / "clips").mkdir(parents=True, exist_ok=True)
    write_ramp_video(root / "clips" / "ramp.mp4", seconds=VIDEO_SECONDS)
    write_image(root / "photo.png", width=IMAGE_SIZE[0], height=IMAGE_SIZE[1])
    return root


def clue_backend(interval=(2.0, 4.0), box=(30.0, 40.0, 150.0, 120.0), answer="the door opens") -> ScriptedBackend:
    """Answers every prompt with a well-formed completion: an interval for a video, a box for an image."""
    def reply(prompt) -> str:
        if prompt.video is not None:
            return completion(interval=interval, answer=answer, think="I see a door.")
        return completion(box=list(box), answer=answer, think="The car is on the left.")
    return ScriptedBackend(reply)


class GatedBackend(ScriptedBackend):
    """A scripted backend whose every `generate` call waits until `gate` is set; `entered` is set
    once a call is waiting. For the queue, timeout and shutdown tests."""

    def __init__(self):
        super().__init__(lambda prompt: completion(interval=(1.0, 3.0), answer="A"))
        self.gate, self.entered = threading.Event(), threading.Event()

    def generate(self, prompts, drafts=None):
        self.entered.set()
        if not self.gate.wait(30):
            raise RuntimeError("the test never opened the gate")
        return super().generate(prompts, drafts)


def user_message(part: dict, text: str = "When does the door open?") -> list[dict]:
    return [{"role": "user", "content": [part, {"type": "text", "text": text}]}]


def video_part(url: str) -> dict:
    return {"type": "video_url", "video_url": {"url": url}}


def image_part(url: str) -> dict:
    return {"type": "image_url", "image_url": {"url": url}}


def post(url: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], dict]:
    """POST raw bytes; (status, headers, decoded JSON body) whatever the status."""
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())
