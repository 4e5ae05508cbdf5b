"""Localisation kinds: when (temporal grounding), where (spatial grounding), where over time
(tracking). Each kind is `(rng, settings) -> Draft`; its question is the query phrase, as in
Charades-STA and RefCOCO (the task's prompt template wraps it)."""

from __future__ import annotations

import numpy as np

from videofocus.data.synth.evidence import uniform_frame_indices
from videofocus.data.synth.scenes import ORDINALS, Draft, SceneBuilder
from videofocus.data.synth.settings import SynthSettings


def tg_single(rng: np.random.Generator, settings: SynthSettings) -> Draft:
    """"the red circle is visible": one appearance of one object."""
    builder = SceneBuilder(rng, settings)
    description = builder.pick()
    span = builder.spans(1)[0]
    target = builder.add(description, [span])
    builder.add_distractors(like=description)
    scene = builder.build()
    return Draft("temporal_grounding", scene, f"the {target.description} is visible",
                 clue={"intervals": [builder.seconds(span)]}, facts={"target": scene.objects.index(target)})


def tg_ordinal(rng: np.random.Generator, settings: SynthSettings) -> Draft:
    """"the red circle is visible for the second time": one of several appearances."""
    builder = SceneBuilder(rng, settings)
    description = builder.pick()
    spans = builder.spans(int(rng.integers(2, settings.max_repeats + 1)))
    target = builder.add(description, spans)
    builder.add_distractors(like=description)
    scene = builder.build()
    which = int(rng.integers(len(spans)))
    return Draft("temporal_grounding", scene, f"the {target.description} is visible for the {ORDINALS[which]} time",
                 clue={"intervals": [builder.seconds(spans[which])]},
                 facts={"target": scene.objects.index(target), "appearance": which})


def tg_relational(rng: np.random.Generator, settings: SynthSettings) -> Draft:
    """"the red circle is visible for the first time after the blue square disappears" (or the
    last time before it appears): the target appears 2+ times, the reference once, in a gap."""
    builder = SceneBuilder(rng, settings)
    count = int(rng.integers(2, settings.max_repeats + 1))
    spans = builder.spans(count + 1)
    gap = int(rng.integers(count - 1))  # the reference fills the gap after the target's gap-th appearance
    reference_span = spans[gap + 1]
    target_spans = spans[:gap + 1] + spans[gap + 2:]
    target = builder.add(builder.pick(), target_spans)
    reference = builder.add(builder.pick(), [reference_span])
    builder.add_distractors(like=(target.colour, target.shape))
    scene = builder.build()
    if rng.random() < 0.5:
        which, query = gap + 1, f"for the first time after the {reference.description} disappears"
    else:
        which, query = gap, f"for the last time before the {reference.description} appears"
    return Draft("temporal_grounding", scene, f"the {target.description} is visible {query}",
                 clue={"intervals": [builder.seconds(target_spans[which])]},
                 facts={"target": scene.objects.index(target), "reference": scene.objects.index(reference),
                        "appearance": which})


def spatial(rng: np.random.Generator, settings: SynthSettings) -> Draft:
    """An image and "red circle": its box in image pixels."""
    builder = SceneBuilder(rng, settings, image=True)
    description = builder.pick()
    target = builder.add(description, [(0, 1)])
    builder.add_distractors(like=description)
    scene = builder.build()
    box = target.boxes(1)[0].tolist()
    return Draft("spatial_grounding", scene, target.description, clue={"boxes": [box]},
                 facts={"target": scene.objects.index(target)})


def tracking(rng: np.random.Generator, settings: SynthSettings) -> Draft:
    """A moving object visible throughout; its box in `track_frames` frames spread uniformly over
    the video (round(linspace(0, N-1, n))), the first being the given initial box."""
    builder = SceneBuilder(rng, settings)
    description = builder.pick()
    size = builder.shape_size()
    builder.add_distractors(like=description)
    target = builder.add(description, [(0, settings.num_frames)], size=size, waypoints=builder.path(size))
    scene = builder.build()
    frames = uniform_frame_indices(settings.num_frames, settings.track_frames, "linspace")
    boxes = target.boxes(settings.num_frames)
    track = [{"t": int(i) / settings.fps, "box": boxes[i].tolist()} for i in frames]
    return Draft("tracking", scene, target.description, clue={"track": track},
                 facts={"target": scene.objects.index(target), "frames": frames.tolist()})
