"""`python -m videofocus.lmms_eval`: write the lmms-eval task file that runs one of the videofocus task
templates on your annotations (docs/lmms-eval.md), then print the lmms-eval command that runs it.

    python -m videofocus.lmms_eval --template nextgqa --annotations data/nextgqa_val.jsonl \
        --media-root NExTVideo --name nextgqa_val --output lmms_tasks
    python -m lmms_eval --model videofocus --model_args pretrained=... --tasks nextgqa_val \
        --include_path lmms_tasks
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from videofocus.lmms_eval import MODEL_NAME, TASKS_DIR
from videofocus.tasks import PROTOCOLS

TEMPLATES = ("temporal_grounding", "nextgqa", "rextime")


def write_task(template: str, annotations: Path, name: str, output: Path, *, media_root: Path | None = None,
               protocol: str = "videofocus") -> Path:
    """Write `output`/`name`.yaml: the template `template` (one of TEMPLATES) over `annotations`, media
    paths relative to `media_root` (default: the annotation file's folder, as `videofocus eval` has it)."""
    if template not in TEMPLATES:
        raise ValueError(f"template must be one of {', '.join(TEMPLATES)}, got {template!r}")
    annotations = annotations.resolve()
    task = {"include": str(TASKS_DIR / f"videofocus_{template}.yaml"), "task": name,
            "dataset_kwargs": {"data_files": {"test": str(annotations)}},
            "lmms_eval_specific_kwargs": {"default": {
                "media_root": str((media_root or annotations.parent).resolve()), "protocol": protocol}}}
    output.mkdir(parents=True, exist_ok=True)
    path = output / f"{name}.yaml"
    path.write_text(yaml.safe_dump(task, sort_keys=False), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m videofocus.lmms_eval", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--template", required=True, choices=TEMPLATES, help="which videofocus task to run")
    parser.add_argument("--annotations", required=True, type=Path, help="annotation JSONL (the one sample format)")
    parser.add_argument("--media-root", type=Path, help="folder the media paths are relative to "
                        "(default: the annotation file's folder)")
    parser.add_argument("--name", required=True, help="the task's name for lmms-eval's --tasks")
    parser.add_argument("--output", required=True, type=Path, help="folder to write NAME.yaml into; give it to "
                        "lmms-eval's --include_path")
    parser.add_argument("--protocol", default="videofocus", choices=PROTOCOLS,
                        help="the prompts the task asks a model that is not --model videofocus")
    args = parser.parse_args(argv)
    if not args.annotations.is_file():
        parser.error(f"--annotations {args.annotations}: no such file")
    path = write_task(args.template, args.annotations, args.name, args.output, media_root=args.media_root,
                      protocol=args.protocol)
    print(f"wrote {path}; run it with\n  python -m lmms_eval --model {MODEL_NAME} --model_args pretrained=MODEL,"
          f"rounds=3 --tasks {args.name} --include_path {args.output} --batch_size 1")
    return 0


if __name__ == "__main__":
    sys.exit(main())
