"""One question about one video or image as a `Sample`, for the commands that ask one-off questions
(`videofocus infer`, `videofocus serve`, the lmms-eval model plugin)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from pydantic import ValidationError

from videofocus.errors import ConfigError
from videofocus.letters import OPTION_LETTERS
from videofocus.schema import Sample, validation_problem
from videofocus.tasks import get_task

# "A. red", "(B) blue", "C) green": an answer option written into the question text.
_OPTION_LINE = re.compile(r"^\s*\(?([A-Z])\s*[.):]\s+(\S.*)$")


def question_sample(path: str | os.PathLike, media_type: str, question: str, *, options: list[str] | None = None,
                    task: str | None = None, sample_id: str = "question") -> Sample:
    """The sample that asks `question` about the video or image at `path`, with its duration / size
    read from the file (the prompts quote them). The task defaults to grounded_qa /
    temporal_grounding for a video with / without options, mcq / spatial_grounding for an image.
    Raises MediaError for a file that cannot be read, ConfigError for a task or question that
    cannot be asked."""
    from videofocus.media.image import load_image
    from videofocus.media.video import probe

    if task is not None:
        get_task(task)  # ConfigError naming the known tasks
    path = Path(path)
    if media_type == "video":
        info = probe(path)
        media = {"type": "video", "path": str(path.resolve()), "duration": info.duration,
                 "width": info.width, "height": info.height}
        default_task = "grounded_qa" if options else "temporal_grounding"
    else:
        width, height = load_image(path).size
        media = {"type": "image", "path": str(path.resolve()), "width": width, "height": height}
        default_task = "mcq" if options else "spatial_grounding"
    try:
        return Sample(id=sample_id, task=task or default_task, media=media, question=question, options=options)
    except ValidationError as exc:
        raise ConfigError(f"cannot ask this: {validation_problem(exc)[0]}") from None


def split_options(text: str) -> tuple[str, list[str] | None]:
    """(question, options) of a question that lists its answer options as lettered lines, in order
    from A (as lmms-eval and most benchmark prompts write them); (text, None) with fewer than two."""
    question, options = [], []
    for line in text.splitlines():
        match = _OPTION_LINE.match(line)
        if match and len(options) < len(OPTION_LETTERS) and match.group(1) == OPTION_LETTERS[len(options)]:
            options.append(match.group(2).strip())
        else:
            question.append(line)
    if len(options) < 2:
        return text, None
    return "\n".join(question).strip(), options
