"""Question kinds over videos: grounded multiple choice (an attribute of an event; brief evidence),
plain multiple choice (counting, colour change, order of events) and captions. Each kind is
`(rng, settings) -> Draft`."""

from __future__ import annotations

import numpy as np

from videofocus.data.synth.evidence import flash_placements
from videofocus.data.synth.scenes import Draft, SceneBuilder, choices
from videofocus.data.synth.settings import SynthSettings
from videofocus.data.synth.world import PALETTE, SHAPES
from videofocus.errors import ConfigError
from videofocus.letters import OPTION_LETTERS

COLOUR_OPTIONS = 4


def gqa_attribute(rng: np.random.Generator, settings: SynthSettings) -> Draft:
    """"What colour is the triangle?" (the only triangle) or "What shape is the red object?";
    the clue is when that object is visible."""
    builder = SceneBuilder(rng, settings)
    span = builder.spans(1)[0]
    target = builder.add(builder.pick(), [span])
    like = (target.colour, target.shape)
    if rng.random() < 0.5:
        builder.add_distractors(like=like, allowed=lambda colour, shape: shape != target.shape)
        options, letter = choices(rng, target.colour, list(PALETTE), COLOUR_OPTIONS,
                                  in_pool_order=settings.fixed_option_order)
        question = f"What colour is the {target.shape}?"
        think = f"The {target.shape} is {target.colour}."
    else:
        builder.add_distractors(like=like, allowed=lambda colour, shape: colour != target.colour)
        options, letter = choices(rng, target.shape, list(SHAPES), len(SHAPES),
                                  in_pool_order=settings.fixed_option_order)
        question = f"What shape is the {target.colour} object?"
        think = f"The {target.colour} object is a {target.shape}."
    scene = builder.build()
    return Draft("grounded_qa", scene, question, options=options, answer=letter, think=think,
                 clue={"intervals": [builder.seconds(span)]}, facts={"target": scene.objects.index(target)})


def brief_evidence(rng: np.random.Generator, settings: SynthSettings) -> Draft:
    """A big square (the anchor, easy to find) is visible for a few seconds and changes colour for
    a moment inside that time; "What colour does it turn?". The clue is the anchor interval; the
    flash is placed where round-1 uniform frames miss it and round-2 frames inside the anchor hit
    it (evidence.flash_placements)."""
    placements = flash_placements(
        settings.num_frames, settings.fps,
        (settings.frames(settings.anchor_duration[0]), settings.frames(settings.anchor_duration[1])),
        (settings.frames(settings.flash_duration[0]), settings.frames(settings.flash_duration[1])),
        settings.round1_frames, settings.key_ratio)
    if not placements:
        raise ConfigError(f"synth settings: no brief-evidence flash fits {settings.num_frames} frames with a round-1 "
                          f"budget of {settings.round1_frames}; lengthen the video (duration, fps) or change "
                          "anchor_duration / flash_duration / round1_frames")
    anchor_span, flash_span = placements[rng.integers(len(placements))]
    builder = SceneBuilder(rng, settings)
    base, _ = builder.pick(lambda colour, shape: shape == "square")
    flash_colour = [colour for colour in PALETTE if colour != base][rng.integers(len(PALETTE) - 1)]
    anchor = builder.add((base, "square"), [anchor_span], size=round(settings.anchor_scale * settings.size),
                         recolours=[(*flash_span, flash_colour)])
    builder.add_distractors(like=(base, "square"))
    scene = builder.build()
    options, letter = choices(rng, flash_colour, [colour for colour in PALETTE if colour != base], COLOUR_OPTIONS,
                              in_pool_order=settings.fixed_option_order)
    return Draft("grounded_qa", scene, f"The big {base} square briefly changes colour. What colour does it turn?",
                 options=options, answer=letter, think=f"The big {base} square turns {flash_colour}.",
                 clue={"intervals": [builder.seconds(anchor_span)]},
                 facts={"target": scene.objects.index(anchor), "flash": builder.seconds(flash_span)},
                 meta={"round1_frames": settings.round1_frames, "key_ratio": settings.key_ratio,
                       "flash_start": flash_span[0] / settings.fps, "flash_end": flash_span[1] / settings.fps})


def mcq_count(rng: np.random.Generator, settings: SynthSettings) -> Draft:
    """"How many times does the red circle appear?" (options 1 .. max_repeats)."""
    builder = SceneBuilder(rng, settings)
    count = int(rng.integers(1, settings.max_repeats + 1))
    target = builder.add(builder.pick(), builder.spans(count))
    builder.add_distractors(like=(target.colour, target.shape))
    scene = builder.build()
    return Draft("mcq", scene, f"How many times does the {target.description} appear?",
                 options=[str(k) for k in range(1, settings.max_repeats + 1)], answer=OPTION_LETTERS[count - 1],
                 think=f"The {target.description} appears {count} time{'s' if count > 1 else ''}.",
                 facts={"target": scene.objects.index(target)})


def mcq_recolour(rng: np.random.Generator, settings: SynthSettings) -> Draft:
    """"What colour does the red circle turn into?": it changes colour for good mid-appearance."""
    builder = SceneBuilder(rng, settings)
    shortest = settings.frames(settings.min_event)
    span = builder.spans(1, min_len=2 * shortest, max_len=settings.frames(settings.max_event))[0]
    change = int(rng.integers(span[0] + shortest, span[1] - shortest + 1))
    colour, shape = builder.pick()
    new_colour = [other for other in PALETTE if other != colour][rng.integers(len(PALETTE) - 1)]
    target = builder.add((colour, shape), [span], recolours=[(change, span[1], new_colour)])
    builder.add_distractors(like=(colour, shape), allowed=lambda c, s: (c, s) != (new_colour, shape))
    scene = builder.build()
    options, letter = choices(rng, new_colour, [other for other in PALETTE if other != colour], COLOUR_OPTIONS,
                              in_pool_order=settings.fixed_option_order)
    return Draft("mcq", scene, f"What colour does the {target.description} turn into?", options=options,
                 answer=letter, think=f"The {target.description} turns {new_colour}.",
                 facts={"target": scene.objects.index(target), "change_frame": change})


def mcq_order(rng: np.random.Generator, settings: SynthSettings) -> Draft:
    """"Which of these appears first?" (or last): 2-4 objects, each appearing once, all starting
    at different frames; the options are their descriptions."""
    builder = SceneBuilder(rng, settings)
    count = 2 + min(2, int(rng.integers(settings.distractors[0], settings.distractors[1] + 1)))
    shortest, longest = settings.frames(settings.min_event), settings.frames(settings.max_event)
    starts = rng.choice(settings.num_frames - shortest + 1, size=count, replace=False)
    first = builder.pick()

    def looks_like_first(colour: str, shape: str) -> bool:
        return not settings.similar_distractors or colour == first[0] or shape == first[1]

    objects = []
    for start in starts:
        description = first if not objects else builder.pick(looks_like_first) or builder.pick()
        end = min(settings.num_frames, int(start) + int(rng.integers(shortest, longest + 1)))
        objects.append(builder.add(description, [(int(start), end)]))
    scene = builder.build()
    ask_first = rng.random() < 0.5
    answer = objects[int(np.argmin(starts) if ask_first else np.argmax(starts))]
    options, letter = choices(rng, answer.description, [obj.description for obj in objects], count)
    which = "first" if ask_first else "last"
    return Draft("mcq", scene, f"Which of these appears {which}?", options=options, answer=letter,
                 think=f"The {answer.description} appears {which}.",
                 facts={"objects": [scene.objects.index(obj) for obj in objects]})


def caption(rng: np.random.Generator, settings: SynthSettings) -> Draft:
    """"Describe the events in the video in order.": one sentence per appearance and
    disappearance, in time order (disappearances first within a frame)."""
    builder = SceneBuilder(rng, settings)
    low, high = settings.distractors
    count = int(rng.integers(2, 4)) + int(rng.integers(low, high + 1))
    objects = []
    for index in range(count):  # the first two always fit; later ones only where there is room
        obj = builder.add(builder.pick(), builder.spans(int(rng.integers(1, 3))), on_top=index < 2)
        if obj is not None:
            objects.append(obj)
    events = []
    for index, obj in enumerate(objects):
        for repeat, (start, end) in enumerate(obj.spans):
            events.append((start, 1, index, f"A {obj.description} appears." if repeat == 0
                           else f"The {obj.description} appears again."))
            if end < settings.num_frames:
                events.append((end, 0, index, f"The {obj.description} disappears."))
    scene = builder.build()
    return Draft("caption", scene, "Describe the events in the video in order.",
                 answer=" ".join(sentence for *_, sentence in sorted(events)),
                 facts={"objects": [scene.objects.index(obj) for obj in objects]})
