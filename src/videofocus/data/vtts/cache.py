"""On-disk results of the pipeline's requests, one small JSON file per (stage, record, request).

The request key hashes everything that decides the answer: the endpoint's model and sampling
settings, and the exact prompt text (so a changed prompt misses and is asked again, while the other
stages still hit). Each file is written atomically, so a killed run leaves whole entries or none;
a rerun asks only what is missing."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from videofocus.llm import EndpointSettings
from videofocus.storage import atomic_writer


def request_key(settings: EndpointSettings, request: object) -> str:
    """Hash of one request: model, sampling settings and the JSON-able `request` description."""
    payload = {"model": settings.model, "temperature": settings.temperature, "max_tokens": settings.max_tokens,
               "request": request}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True)
class CachedReply:
    value: object
    text: str


class StageCache:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _path(self, stage: str, record_id: str, key: str) -> Path:
        record = hashlib.sha256(record_id.encode()).hexdigest()[:24]
        return self.root / stage / record[:2] / f"{record}-{key[:24]}.json"

    def get(self, stage: str, record_id: str, key: str) -> CachedReply | None:
        path = self._path(stage, record_id, key)
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
            return None
        if not isinstance(entry, dict) or entry.get("key") != key or "value" not in entry:
            return None
        return CachedReply(entry["value"], str(entry.get("text", "")))

    def put(self, stage: str, record_id: str, key: str, value: object, text: str) -> None:
        entry = {"id": record_id, "stage": stage, "key": key, "value": value, "text": text}
        with atomic_writer(self._path(stage, record_id, key)) as handle:
            json.dump(entry, handle, ensure_ascii=False)
