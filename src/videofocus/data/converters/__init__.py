"""Converters from the formats public datasets are distributed in to the one sample format, one
module per source format, registered here by name.

    from videofocus.data.converters import ConvertOptions, get_converter, run_conversion
    report = run_conversion(get_converter("charades_sta"), ConvertOptions(input=Path("charades_sta_test.txt"),
                            durations=Path("Charades_v1_test.csv")), Path("charades_test.jsonl"))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from videofocus.data.converters import (activitynet_captions, charades_sta, got10k, mvbench, nextgqa,
                                        perception_test, qvhighlights, refcoco, refcoco_rec, rextime,
                                        videochat_r1, videomme)
from videofocus.data.converters.common import ConvertOptions, Converter
from videofocus.errors import ConfigError, DataError
from videofocus.schema import sample_to_json
from videofocus.storage import atomic_writer

CONVERTERS: dict[str, Converter] = {module.CONVERTER.name: module.CONVERTER for module in (
    charades_sta, activitynet_captions, qvhighlights, nextgqa, rextime, got10k, refcoco, refcoco_rec,
    mvbench, videomme, perception_test, videochat_r1)}


def get_converter(name: str) -> Converter:
    """The converter registered as `name`; ConfigError listing the names otherwise."""
    try:
        return CONVERTERS[name]
    except KeyError:
        raise ConfigError(f"unknown converter {name!r}; choose one of {', '.join(sorted(CONVERTERS))}") from None


@dataclass
class ConversionReport:
    written: int = 0
    skipped: list[DataError] = field(default_factory=list)


def run_conversion(converter: Converter, options: ConvertOptions, output: Path, *, skip_invalid: bool = False,
                   on_sample: Callable[[int], None] | None = None) -> ConversionReport:
    """Convert into `output` (JSONL, written atomically: nothing is left on failure).

    A bad source record raises DataError naming its file and line/record, unless `skip_invalid`:
    then it is skipped and listed in the report. Duplicate sample ids are always an error.
    `on_sample(count)` is called after each written sample (progress)."""
    unused = converter.unused_options(options)
    if unused:
        raise ConfigError(f"converter {converter.name} does not use option(s) "
                          f"{', '.join('--' + name.replace('_', '-') for name in unused)}")
    report = ConversionReport()
    if skip_invalid:
        options = replace(options, on_invalid=report.skipped.append)
    seen: set[str] = set()
    with atomic_writer(output) as handle:
        for sample in converter.convert(options):
            if sample.id in seen:
                raise DataError(f"two source records give the sample id {sample.id!r}", path=str(options.input))
            seen.add(sample.id)
            handle.write(sample_to_json(sample) + "\n")
            report.written += 1
            if on_sample is not None:
                on_sample(report.written)
    return report


__all__ = ["CONVERTERS", "ConversionReport", "ConvertOptions", "Converter", "get_converter", "run_conversion"]
