"""Turn a request's media reference into a local file the loop can open.

Accepted: a path relative to the media root, or an absolute path or file:// URL inside it; a base64
data URL (written to the request's scratch folder); an http(s) URL only when remote media is
allowed (downloaded there, no larger than a request body). Anything else is a 400 naming the field.
Symlinks are followed before the root check, so a link cannot lead outside the root."""

from __future__ import annotations

import base64
import binascii
import mimetypes
import re
import shutil
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import unquote, urlparse

from videofocus.serve.errors import APIError, bad_request
from videofocus.serve.settings import ServeSettings

_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[^;,]*)*),(?P<payload>.*)$", re.DOTALL)
_REMOTE_SECONDS = 30


def fetch_media(url: str, scratch: Path, settings: ServeSettings, param: str) -> Path:
    """The local file `url` names (see module doc); raises a 400 (413 for too large) APIError."""
    scheme = urlparse(url).scheme.lower()
    if scheme == "data":
        return _write_data_url(url, scratch, param)
    if scheme in ("http", "https"):
        if not settings.allow_remote_media:
            raise bad_request("remote media is not allowed on this server (start it with --allow-remote-media), "
                              "or send the media as a base64 data URL", param=param, code="remote_media_disabled")
        return _download(url, scratch, settings.max_body_bytes, param)
    if scheme == "file":
        return _inside_root(Path(unquote(urlparse(url).path)), url, settings, param)
    if scheme:
        raise bad_request(f"unsupported media URL scheme '{scheme}:' (use a path under the media root, file://, "
                          "data: or http(s):)", param=param)
    return _inside_root(Path(url), url, settings, param)


def _inside_root(path: Path, given: str, settings: ServeSettings, param: str) -> Path:
    if settings.media_root is None:
        raise bad_request("this server reads no local files (no --media-root); send the media as a base64 data "
                          "URL", param=param, code="local_media_disabled")
    root = Path(settings.media_root).resolve()
    resolved = (root / path).resolve()  # an absolute `path` replaces the root here
    if not resolved.is_relative_to(root):
        raise bad_request(f"media '{given}' lies outside the media root", param=param, code="media_outside_root")
    if not resolved.is_file():
        raise bad_request(f"media '{given}' not found under the media root", param=param, code="media_not_found")
    return resolved


def _write_data_url(url: str, scratch: Path, param: str) -> Path:
    match = _DATA_URL.match(url)
    if not match or ";base64" not in match["params"]:
        raise bad_request("a data URL must look like data:<type>;base64,<data>", param=param)
    try:
        payload = base64.b64decode(match["payload"], validate=True)
    except (binascii.Error, ValueError):
        raise bad_request("the data URL's base64 payload does not decode", param=param) from None
    if not payload:
        raise bad_request("the data URL is empty", param=param)
    path = scratch / ("upload" + (mimetypes.guess_extension(match["mime"] or "") or ".bin"))
    path.write_bytes(payload)
    return path


def _download(url: str, scratch: Path, max_bytes: int, param: str) -> Path:
    suffix = Path(urlparse(url).path).suffix[:10] or ".bin"
    path = scratch / ("download" + suffix)
    try:
        with urllib.request.urlopen(url, timeout=_REMOTE_SECONDS) as response, path.open("wb") as out:
            shutil.copyfileobj(_Capped(response, max_bytes), out)
    except _TooLarge:
        raise APIError(413, f"the media at {url} is larger than {max_bytes} bytes", param=param) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise bad_request(f"cannot download {url}: {exc}", param=param, code="media_not_found") from None
    return path


class _TooLarge(Exception):
    pass


class _Capped:
    """A readable that raises _TooLarge past `limit` bytes."""

    def __init__(self, source, limit: int):
        self.source, self.left = source, limit

    def read(self, size: int = -1) -> bytes:
        chunk = self.source.read(size)
        self.left -= len(chunk)
        if self.left < 0:
            raise _TooLarge
        return chunk
