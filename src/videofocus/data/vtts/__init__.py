"""VTTS-style training data from existing annotations: verify → reason → rank over OpenAI-compatible
endpoints (VideoChat-R1.5 §3.2; docs/data-build.md)."""

from videofocus.data.vtts.config import BuildConfig, load_build_config
from videofocus.data.vtts.pipeline import BuildPaths, BuildProgress, build_dataset
from videofocus.data.vtts.report import BuildReport, format_report

__all__ = ["BuildConfig", "BuildPaths", "BuildProgress", "BuildReport", "build_dataset", "format_report",
           "load_build_config"]
