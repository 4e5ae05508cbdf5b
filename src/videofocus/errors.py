"""The one error type users see. Anything raised as a VideoFocusError is a problem with the user's
input (file, config, arguments) and is printed by the CLI as a one-line message, without a traceback."""

from __future__ import annotations


class VideoFocusError(Exception):
    """A problem the user can fix: the message says what and where."""


class MediaError(VideoFocusError):
    """A video or image that cannot be read as asked (missing, empty, no stream, bad range)."""


class DataError(VideoFocusError):
    """A data file with a bad record. The message names the file, the line and the field."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 field: str | None = None):
        self.reason, self.path, self.line, self.field = message, path, line, field
        where = ":".join(str(part) for part in (path, line) if part is not None)
        prefix = f"{where}: " if where else ""
        suffix = f" (field '{field}')" if field else ""
        super().__init__(f"{prefix}{message}{suffix}")


class ConfigError(VideoFocusError):
    """A configuration that cannot run. The message says which key to change."""


class DiskFullError(VideoFocusError):
    """A write that ran out of disk space. The message names the folder."""
