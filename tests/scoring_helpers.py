"""Test helpers for the scoring area: sample factories and a scripted OpenAI-compatible chat server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from videofocus.schema import Sample, parse_sample

BASE_SAMPLES: dict[str, dict] = {
    "temporal_grounding": {"media": {"type": "video", "path": "v.mp4", "duration": 30.0},
                           "question": "the person takes a box out", "clue": {"intervals": [[6.0, 11.9]]}},
    "grounded_qa": {"media": {"type": "video", "path": "v.mp4", "duration": 30.0}, "question": "Why did he stop?",
                    "options": ["to rest", "to eat", "to call", "to read"], "answer": "B",
                    "clue": {"intervals": [[2.0, 6.0]]}},
    "mcq": {"media": {"type": "video", "path": "v.mp4", "duration": 60.0}, "question": "What colour is the car?",
            "options": ["red", "blue", "green"], "answer": "C"},
    "tracking": {"media": {"type": "video", "path": "v.mp4", "width": 200, "height": 100}, "question": "dog",
                 "clue": {"track": [{"t": 0.0, "box": [0, 0, 100, 50]}, {"t": 0.5, "box": [100, 50, 200, 100]},
                                    {"t": 1.0, "box": [50, 25, 150, 75]}, {"t": 1.5, "box": [0, 50, 100, 100]}]}},
    "spatial_grounding": {"media": {"type": "image", "path": "i.jpg", "width": 640, "height": 480},
                          "question": "the giant doughnut", "clue": {"boxes": [[100, 100, 300, 200]]}},
    "caption": {"media": {"type": "video", "path": "v.mp4"}, "answer": "A man walks in. He sits down and reads."},
    "classification": {"media": {"type": "video", "path": "v.mp4"}, "question": "Is the video blurry?",
                       "answer": "yes"},
}


def make_sample(task: str, **overrides) -> Sample:
    """A valid sample of `task`; `overrides` replace top-level fields (None removes an annotation)."""
    record = {"id": f"{task}#0", "task": task, **BASE_SAMPLES[task], **overrides}
    return parse_sample({key: value for key, value in record.items() if value is not None})


@dataclass
class ScriptedReply:
    """One reply of the fake server: HTTP status, assistant text (or raw body), extra headers, a delay
    before answering and one between body bytes (a trickling server)."""

    status: int = 200
    content: str = ""
    raw_body: str | None = None
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    byte_delay: float = 0.0


@dataclass
class FakeChatServer:
    """Records each request's path, headers and JSON body; answers from `replies` in order (the last
    reply repeats once the script runs out)."""

    replies: list[ScriptedReply]
    requests: list[dict] = field(default_factory=list)
    url: str = ""

    def next_reply(self) -> ScriptedReply:
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]


def _handler_for(server_state: FakeChatServer):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length", 0))
            server_state.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                          "body": json.loads(self.rfile.read(length) or b"{}")})
            reply = server_state.next_reply()
            time.sleep(reply.delay)
            body = reply.raw_body if reply.raw_body is not None else json.dumps(
                {"choices": [{"index": 0, "message": {"role": "assistant", "content": reply.content}}]})
            data = body.encode()
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self._write(data, reply.byte_delay)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test)

        do_GET = do_POST  # a client that turns a redirected POST into a GET is recorded too

        def _write(self, data: bytes, byte_delay: float) -> None:
            if not byte_delay:
                self.wfile.write(data)
                return
            for offset in range(len(data)):
                self.wfile.write(data[offset:offset + 1])
                self.wfile.flush()
                time.sleep(byte_delay)

        def log_message(self, *args):
            pass

    return Handler


@contextmanager
def fake_chat_server(*replies: ScriptedReply) -> Iterator[FakeChatServer]:
    """A real HTTP server on 127.0.0.1 (free port) in a thread, for the duration of the block."""
    state = FakeChatServer(replies=list(replies))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(state))
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
