"""`videofocus serve`: the perception loop behind an OpenAI-compatible API, with a web page."""

from __future__ import annotations

from pathlib import Path

import typer

from videofocus.cli.app import app, console
from videofocus.cli.model_defaults import LIBRARY_PIXELS, model_input_defaults
from videofocus.evaluate.settings import GenerationSettings
from videofocus.perception import PerceptionOptions

_PERCEPTION = PerceptionOptions()
_GENERATION = GenerationSettings()

_EXAMPLES = """\b
Examples:
  videofocus serve --model Qwen/Qwen2.5-VL-7B-Instruct --media-root ./videos
  videofocus serve --model ckpt/ --backend vllm --host 0.0.0.0 --port 8000 \\
      --api-key "$VIDEOFOCUS_API_KEY" --rounds 3 --early-stop"""


@app.command(epilog=_EXAMPLES)
def serve(
    model: str = typer.Option(..., "--model", help="Model directory or Hub id, e.g. Qwen/Qwen2.5-VL-7B-Instruct."),
    served_model_name: str | None = typer.Option(None, "--served-model-name",
                                                 help="The id clients send as `model` (default: --model)."),
    backend: str = typer.Option(_GENERATION.backend, "--backend", help="hf (transformers) or vllm (GPU)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (0.0.0.0: every interface)."),
    port: int = typer.Option(8000, "--port", min=0, max=65535),
    media_root: Path | None = typer.Option(None, "--media-root", exists=True, file_okay=False,
                                           help="Folder whose videos/images requests may name by path or "
                                                "file:// URL (default: none; data URLs only)."),
    allow_remote_media: bool = typer.Option(False, "--allow-remote-media",
                                            help="Let requests name http(s) URLs, downloaded by the server."),
    api_key: str | None = typer.Option(None, "--api-key", envvar="VIDEOFOCUS_API_KEY",
                                       help="Require `Authorization: Bearer KEY` on /v1 routes."),
    rounds: int = typer.Option(_PERCEPTION.rounds, "--rounds", min=1, help="Perception rounds per request."),
    max_rounds: int = typer.Option(8, "--max-rounds", min=1, help="Most rounds a request may ask for."),
    num_frames: int | None = typer.Option(None, "--num-frames", min=1,
                                          help="Fixed frame budget of each round (default: the model's "
                                               "videofocus.json when --fps is not given, else --fps)."),
    fps: float | None = typer.Option(None, "--fps", min=0.001,
                                     help=f"Frames per second without --num-frames (default {_PERCEPTION.fps:g})."),
    max_frames: int = typer.Option(_PERCEPTION.max_frames, "--max-frames", min=1),
    key_ratio: float = typer.Option(_PERCEPTION.key_ratio, "--key-ratio",
                                    help="Share of frames placed inside the clue in rounds 2+."),
    carry_history: bool = typer.Option(False, "--carry-history", help="Quote the previous round in the prompt."),
    early_stop: bool = typer.Option(False, "--early-stop", help="Stop when clue and answer stop changing."),
    protocol: str = typer.Option(_PERCEPTION.protocol, "--protocol",
                                 help="Prompt protocol: videofocus, videochat_r1, videochat_r1_5."),
    max_new_tokens: int = typer.Option(_GENERATION.max_new_tokens, "--max-new-tokens", min=1,
                                       help="Default tokens per round (a request's max_tokens overrides it)."),
    max_batch: int = typer.Option(8, "--max-batch", min=1, help="Requests run together, one model call per round."),
    batch_window_ms: float = typer.Option(10.0, "--batch-window-ms", min=0.0,
                                          help="How long a new request waits for others to join its batch."),
    max_queue: int = typer.Option(64, "--max-queue", min=1, help="Requests that may wait; more get 429."),
    timeout: float = typer.Option(600.0, "--timeout", min=0.001, help="Seconds a request may take; then 504."),
    max_body_mb: float = typer.Option(64.0, "--max-body-mb", min=0.01, help="Largest request body (MiB); then 413."),
    shutdown_grace: float = typer.Option(30.0, "--shutdown-grace", min=0.0,
                                         help="Seconds open requests get to finish on Ctrl-C / SIGTERM."),
    device: str | None = typer.Option(None, "--device", help="cpu, cuda, cuda:1 … (default: cuda when present)."),
    dtype: str | None = typer.Option(None, "--dtype", help="float32, bfloat16 … (default: bf16 on GPU)."),
) -> None:
    """Serve a model with iterative perception behind an OpenAI-compatible API (/v1/chat/completions)
    and a web page (/) that shows each round."""
    from videofocus.evaluate.runner import build_backend
    from videofocus.serve import ServeSettings, create_app
    from videofocus.serve.server import serve_forever

    pixels, num_frames = model_input_defaults(model, num_frames=num_frames, fps=fps,
                                              **dict.fromkeys(LIBRARY_PIXELS))
    options = PerceptionOptions(rounds=rounds, num_frames=num_frames, fps=fps or _PERCEPTION.fps,
                                max_frames=max_frames, min_frames=min(_PERCEPTION.min_frames, max_frames),
                                key_ratio=key_ratio, carry_history=carry_history, early_stop=early_stop, protocol=protocol)
    settings = ServeSettings(model_name=served_model_name or model, options=options, media_root=media_root,
                             allow_remote_media=allow_remote_media, api_key=api_key, max_batch=max_batch,
                             batch_window=batch_window_ms / 1000,
                             max_queue=max_queue, request_timeout=timeout, max_body_bytes=int(max_body_mb * 2**20),
                             max_rounds=max(max_rounds, rounds))
    generation = GenerationSettings(backend=backend, dtype=dtype, max_new_tokens=max_new_tokens, **pixels)
    loaded = build_backend(model, generation, batch_size=max_batch, device=device)
    console.print(f"serving [bold]{settings.model_name}[/] on http://{host}:{port} (API under /v1, web page at /)",
                  highlight=False)
    serve_forever(create_app(loaded, settings, shutdown_grace=shutdown_grace), host=host, port=port,
                  shutdown_grace=shutdown_grace)
