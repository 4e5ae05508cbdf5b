"""Training data: the configured datasets loaded and checked up front, a resumable batch order, and a
sample turned into model inputs (media decoded, task prompt built, processor applied).

Everything a run can know to be wrong before its first step is checked in `load_training_samples`:
missing files, samples whose media is missing, unknown tasks, a dataset smaller than one batch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image

from videofocus.backends.base import BoxConvention
from videofocus.errors import ConfigError, DataError, VideoFocusError
from videofocus.jsonfiles import iter_jsonl
from videofocus.media.pairs import second_round_indices
from videofocus.media.sampling import uniform_indices
from videofocus.media.video import VideoInfo, probe, read_frames, trim
from videofocus.models.inputs import PixelLimits, Prompt, encode_prompts, video_decode_size
from videofocus.parsing import Prediction
from videofocus.perception.options import PerceptionOptions
from videofocus.perception.views import ImageSource, clip_intervals, first_round_indices, track_times
from videofocus.schema import Sample, parse_sample
from videofocus.tasks import get_task
from videofocus.train.batch import PromptInputs
from videofocus.train.config import DatasetConfig, TrainConfig


@dataclass(frozen=True)
class LoopView:
    """A view that iterative perception shows. A video: round 1 (`frames` uniform frames) or, with
    `focused`, round 2 at the same budget, re-sampled around the sample's labelled clue. An image
    (`frames` None, `focused`): round 2, the full image plus a crop of each labelled clue box, as the
    loop shows it after a round 1 whose boxes were right."""

    frames: int | None
    focused: bool


@dataclass(frozen=True)
class TrainSample:
    """A validated sample, where its media file is, and where the sample came from (file:line).
    `view`: the frames it is shown; None: the `video_fps` view (or the track's frames)."""

    sample: Sample
    media_path: Path
    source: str
    view: LoopView | None = None


@dataclass
class Example:
    """A training sample made ready for the model: its inputs, and the size at which each image was
    seen (to map predicted boxes back to the sample's pixels)."""

    item: TrainSample
    inputs: PromptInputs
    image_sizes: list[tuple[tuple[int, int], tuple[int, int]]]   # per image: (original (w, h), seen (w, h))

    def in_sample_units(self, prediction: Prediction, convention: BoxConvention) -> Prediction:
        """`prediction` with its image boxes converted from the model's convention to original pixels."""
        if not prediction.boxes or not self.image_sizes:
            return prediction
        original, seen = self.image_sizes[0]
        return replace(prediction, boxes=[convention.to_original(box, original, seen) for box in prediction.boxes])

    def box_to_model(self, convention: BoxConvention):
        """The inverse map, for writing targets: a box in original pixels → the model's convention."""
        if not self.image_sizes:
            return list
        scale_x, scale_y, _, _ = convention.to_original([1.0, 1.0, 1.0, 1.0], *self.image_sizes[0])
        return lambda box: [box[0] / scale_x, box[1] / scale_y, box[2] / scale_x, box[3] / scale_y]


def load_training_samples(datasets: Sequence[DatasetConfig]) -> list[TrainSample]:
    """All samples of all datasets, validated: DataError for a bad record (file, line, field);
    ConfigError for a missing file, a sample of the wrong or an unknown task, or missing media."""
    samples: list[TrainSample] = []
    for index, dataset in enumerate(datasets):
        if not Path(dataset.path).is_file():
            raise ConfigError(f"datasets[{index}].path: no such file {dataset.path}")
        media_root = dataset.resolved_media_root()
        if dataset.task is not None:
            get_task(dataset.task)
        count = 0
        for line, record in iter_jsonl(dataset.path):
            if dataset.max_samples is not None and count >= dataset.max_samples:
                break
            sample = parse_sample(record, path=dataset.path, line=line)
            source = f"{dataset.path}:{line}"
            _check_sample(sample, source, dataset, index)
            try:
                media_path = sample.media.resolve(media_root, allow_outside=dataset.allow_media_outside_root)
            except DataError as error:
                raise DataError(f"{error.reason} (set datasets[{index}].allow_media_outside_root to allow it)",
                                path=dataset.path, line=line, field=error.field) from None
            if not media_path.is_file():
                raise ConfigError(f"{source}: media file {media_path} not found; set datasets[{index}].media_root "
                                  f"to the folder holding {sample.media.path!r}")
            samples.append(TrainSample(sample=sample, media_path=media_path, source=source))
            count += 1
    return samples


def with_loop_views(samples: Sequence[TrainSample], frames: int | None, *, images: bool = False) -> list[TrainSample]:
    """`samples` with, after each video sample that has clue intervals, two more items: its round-1
    and round-2 loop views at a budget of `frames` (SFTConfig.loop_view_frames; None: none); and with
    `images`, after each image sample that has clue boxes, one more: its round-2 view (round 1 is the
    full image, the sample's own view; SFTConfig.image_loop_views)."""
    expanded = []
    for item in samples:
        expanded.append(item)
        clue, media_type = item.sample.clue, item.sample.media.type
        if frames is not None and media_type == "video" and clue is not None and clue.intervals:
            expanded += [replace(item, view=LoopView(frames, focused)) for focused in (False, True)]
        elif images and media_type == "image" and clue is not None and clue.boxes:
            expanded.append(replace(item, view=LoopView(None, focused=True)))
    return expanded


def _check_sample(sample: Sample, source: str, dataset: DatasetConfig, index: int) -> None:
    if dataset.task is not None and sample.task != dataset.task:
        raise ConfigError(f"{source}: sample task {sample.task!r} but datasets[{index}].task is {dataset.task!r}; "
                          "fix the file or the dataset's task")
    try:
        get_task(sample.task)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None


@dataclass
class DataPosition:
    """Where the batch order stands: the next global batch is batch `batch` of epoch `epoch`, unless
    `deferred` holds (epoch, batch) places passed over by a request for another task; those come first."""

    epoch: int = 0
    batch: int = 0
    deferred: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        self.deferred = tuple((int(epoch), int(batch)) for epoch, batch in self.deferred)   # JSON gives lists


class BatchOrder:
    """Deterministic, resumable order of global batches (lists of sample indices).

    Each epoch is a seeded permutation cut into batches of `global_batch` samples; the remainder is
    dropped (all batches keep their size). With `single_task_batches`, each task is permuted and cut
    on its own and the batches of all tasks are then shuffled together, so every batch holds one task.
    Every process builds the same order and takes its own consecutive share of each batch."""

    def __init__(self, tasks: Sequence[str], global_batch: int, *, seed: int, single_task_batches: bool = False):
        self.tasks, self.global_batch, self.seed = list(tasks), global_batch, seed
        self.single_task_batches = single_task_batches
        if self.batches_per_epoch == 0:
            counts = {task: self.tasks.count(task) for task in sorted(set(self.tasks))}
            detail = f" per task {counts}" if single_task_batches else ""
            raise ConfigError(f"the datasets hold {len(self.tasks)} samples{detail}, fewer than one global batch of "
                              f"{global_batch}; add data or lower per_device_batch_size / gradient_accumulation_steps")
        self._cached: dict[int, list[list[int]]] = {}

    @property
    def batches_per_epoch(self) -> int:
        if not self.single_task_batches:
            return len(self.tasks) // self.global_batch
        return sum(self.tasks.count(task) // self.global_batch for task in set(self.tasks))

    def epoch(self, epoch: int) -> list[list[int]]:
        if epoch not in self._cached:
            # Keep the epoch before too: batches deferred at an epoch's end are served in the next one.
            self._cached = {epoch - 1: self._cached[epoch - 1]} if epoch - 1 in self._cached else {}
            self._cached[epoch] = self._build(epoch)
        return self._cached[epoch]

    def task(self, epoch: int, batch: int) -> str:
        """The task of the batch's first sample (the task of the whole batch with single_task_batches)."""
        return self.tasks[self.epoch(epoch)[batch][0]]

    def _build(self, epoch: int) -> list[list[int]]:
        rng = np.random.default_rng([self.seed, epoch])
        if not self.single_task_batches:
            return _cut(rng.permutation(len(self.tasks)).tolist(), self.global_batch)
        batches = []
        for task in sorted(set(self.tasks)):
            members = [index for index, name in enumerate(self.tasks) if name == task]
            batches += _cut([members[i] for i in rng.permutation(len(members))], self.global_batch)
        return [batches[i] for i in rng.permutation(len(batches))]


def _cut(indices: list[int], size: int) -> list[list[int]]:
    return [indices[start:start + size] for start in range(0, len(indices) - size + 1, size)]


class BatchStream:
    """This process's share of successive global batches; `position` is what a checkpoint saves."""

    def __init__(self, order: BatchOrder, *, num_epochs: int | None, process_index: int = 0, num_processes: int = 1):
        if order.global_batch % num_processes:
            raise ValueError("the global batch must split evenly over the processes")
        self.order, self.num_epochs = order, num_epochs
        self.process_index, self.share = process_index, order.global_batch // num_processes
        self.position = DataPosition()

    def next(self, *, task: str | None = None) -> list[int] | None:
        """Sample indices for this process from the next global batch; None once the epochs are done.
        With `task`, from the next batch of that task: the batches passed over on the way are deferred,
        and later calls serve them, in order, before any other."""
        deferred = self.position.deferred
        wanted = [place for place in deferred if task is None or self.order.task(*place) == task]
        if wanted:
            self.position = replace(self.position, deferred=tuple(place for place in deferred if place != wanted[0]))
            return self._share(*wanted[0])
        passed = []
        while (place := self._advance()) is not None and task is not None and self.order.task(*place) != task:
            passed.append(place)
        self.position = replace(self.position, deferred=deferred + tuple(passed))
        return None if place is None else self._share(*place)

    def _advance(self) -> tuple[int, int] | None:
        """Step past the next batch of the order: its (epoch, batch), or None once the epochs are done."""
        epoch, batch = self.position.epoch, self.position.batch
        if batch >= self.order.batches_per_epoch:
            epoch, batch = epoch + 1, 0
        self.position = replace(self.position, epoch=epoch, batch=batch)
        if self.num_epochs is not None and epoch >= self.num_epochs:
            return None
        self.position = replace(self.position, batch=batch + 1)
        return epoch, batch

    def _share(self, epoch: int, batch: int) -> list[int]:
        indices = self.order.epoch(epoch)[batch]
        return indices[self.process_index * self.share:(self.process_index + 1) * self.share]


def build_prompt(item: TrainSample, config: TrainConfig, processor=None) -> Prompt:
    """The model prompt for a sample: its task's prompt text and its decoded media (video frames at
    `video_fps` within the frame limits, the track's own frames for tracking, or the image). With
    `processor`, video frames are decoded no larger than encoding them for it will resize them to."""
    sample = item.sample
    task = get_task(sample.task)
    text = task.build_prompt(sample, protocol=config.protocol, stage="train")
    media_first = task.protocol_for(sample, config.protocol).media_first
    if sample.media.type == "image":
        return Prompt(text=text, images=loop_view_images(item), media_first=media_first)
    info = probe(item.media_path)
    if sample.media.segment is not None:
        info = trim(info, *sample.media.segment)
    if item.view is not None:
        indices = loop_view_indices(info, sample, item.view)
    else:   # the view the perception loop's round 1 shows at the training frame rate
        indices = first_round_indices(info, None, config.video_fps, config.video_min_frames, config.video_max_frames,
                                      track_times=track_times(sample))
    size = None if processor is None else video_decode_size(
        processor, info.height, info.width, PixelLimits(config.video_min_pixels, config.video_max_pixels))
    return Prompt(text=text, video=read_frames(info, indices, size=size), media_first=media_first)


def loop_view_indices(info: VideoInfo, sample: Sample, view: LoopView) -> np.ndarray:
    """The frames of `view`: uniform, or focused on the clue as the loop re-samples round 2 after a
    round 1 whose clue was right (its default key ratio, round 1's pairs reused)."""
    if not view.focused:
        return uniform_indices(info, view.frames)
    return second_round_indices(info, view.frames, clip_intervals(sample.clue.intervals, info.duration),
                                PerceptionOptions().key_ratio)


def loop_view_images(item: TrainSample) -> list[Image.Image]:
    """The images an image sample is shown: the full image, and with a loop view the crops of its
    clue boxes as the loop's round 2 builds them (`perception.views.ImageSource`, default options)."""
    source = ImageSource.open(item.media_path)
    if item.view is None:
        return [source.image]
    options = PerceptionOptions()
    boxes = source.clip_boxes(item.sample.clue.boxes)[: options.max_crops]
    return source.view(boxes, margin=options.crop_margin).images


def make_example(item: TrainSample, processor, config: TrainConfig, device) -> Example:
    """Decode, prompt and encode one sample into an Example on `device`."""
    try:
        prompt = build_prompt(item, config, processor)
    except VideoFocusError as exc:
        raise type(exc)(f"{item.source}: {exc}") from exc
    encoded = encode_prompts(processor, [prompt], video_min_pixels=config.video_min_pixels,
                             video_max_pixels=config.video_max_pixels, video_total_pixels=config.video_total_pixels,
                             image_min_pixels=config.image_min_pixels, image_max_pixels=config.image_max_pixels)
    inputs = PromptInputs.from_encoded(encoded).to(device)
    return Example(item=item, inputs=inputs, image_sizes=_image_sizes(prompt, inputs, processor))


def _image_sizes(prompt, inputs: PromptInputs, processor) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    grids = inputs.visual.get("image_grid_thw")
    if grids is None:
        return []
    patch = processor.image_processor.patch_size
    return [(image.size, (int(w) * patch, int(h) * patch)) for image, (_, h, w) in zip(prompt.images, grids.tolist())]
