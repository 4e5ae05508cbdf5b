"""The data build pipeline's configuration (a YAML file): endpoints, prompts, stage settings.

```yaml
llm: {base_url: http://localhost:8000/v1, model: deepseek-ai/DeepSeek-V3, concurrency: 16}
vlm: {base_url: http://localhost:8001/v1, model: Qwen/Qwen2.5-VL-72B-Instruct}   # rank (default: llm)
verify: {require_caption: true}
rank: {keep_share: 0.8, frames: 4}
prompts: {reason: {user: "..."}}   # any shipped prompt, replaced in part or whole
```

The shipped prompts live in prompts.yaml beside this module."""

from __future__ import annotations

import string
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from videofocus.errors import ConfigError
from videofocus.llm import EndpointSettings

STAGE_PROMPTS = ("verify_qa", "verify_clue", "reason", "rank")
# The placeholders each prompt is filled with (prompts.yaml says what they hold).
PROMPT_FIELDS = {
    "verify_qa": {"caption", "qa"},
    "verify_clue": {"caption", "qa", "clue", "clue_caption"},
    "reason": {"caption", "qa", "target", "clue_note"},
    "rank": {"qa", "think", "target", "views"},
}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Prompt(_Section):
    system: str
    user: str

    def render(self, values: dict[str, str]) -> list[dict]:
        """Chat messages with the placeholders filled (text only; rank adds its images)."""
        return [{"role": "system", "content": string.Template(self.system).substitute(values)},
                {"role": "user", "content": string.Template(self.user).substitute(values)}]


class VerifySettings(_Section):
    """`require_caption`: a QA record without a caption is dropped (true) or kept unchecked (false)."""

    require_caption: bool = True


class ReasonSettings(_Section):
    """`overwrite`: write a new think even for records that bring their own."""

    overwrite: bool = False


class RankSettings(_Section):
    """`keep_share`: the best-scored share of the ranked records kept; `min_score`: records scored
    below it (1-10 scale, mean of the three criteria) are dropped whatever their rank. `frames`:
    video frames shown (inside the temporal clue for a `key_ratio` share of them); `image_side`:
    the longest side of each image sent."""

    keep_share: float = Field(default=0.8, gt=0, le=1)
    min_score: float = Field(default=0.0, ge=0, le=10)
    frames: int = Field(default=4, ge=1, le=64)
    key_ratio: float = Field(default=0.75, ge=0, le=1)
    image_side: int = Field(default=448, ge=28, le=4096)


class BuildConfig(_Section):
    llm: EndpointSettings
    vlm: EndpointSettings | None = None
    media_root: Path | None = None
    cache_dir: Path | None = None
    protocol: Literal["videofocus", "videochat_r1", "videochat_r1_5"] = "videofocus"
    verify: VerifySettings = VerifySettings()
    reason: ReasonSettings = ReasonSettings()
    rank: RankSettings = RankSettings()
    prompts: dict[str, Prompt] = Field(default_factory=dict)

    @property
    def rank_endpoint(self) -> EndpointSettings:
        return self.vlm or self.llm


def default_prompts() -> dict[str, dict[str, str]]:
    text = resources.files("videofocus.data.vtts").joinpath("prompts.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def load_build_config(path: str | Path) -> BuildConfig:
    """Read and check a pipeline config; ConfigError names the file and the key at fault."""
    try:
        values = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: a pipeline config is a mapping (llm, vlm, verify, reason, rank, prompts)")
    return build_config_from_dict(values, source=str(path))


def build_config_from_dict(values: dict, *, source: str = "config") -> BuildConfig:
    values = dict(values)
    values["prompts"] = _merged_prompts(values.get("prompts") or {}, source)
    try:
        config = BuildConfig.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"{source}: {key}: {first['msg']}") from None
    for name, prompt in config.prompts.items():
        _check_placeholders(name, prompt, source)
    return config


def _merged_prompts(overrides: object, source: str) -> dict[str, dict[str, str]]:
    """The shipped prompts with the config's replacements (a stage's system, user, or both)."""
    if not isinstance(overrides, dict):
        raise ConfigError(f"{source}: prompts: a mapping of stage → {{system, user}}")
    prompts = default_prompts()
    for name, parts in overrides.items():
        if name not in STAGE_PROMPTS:
            raise ConfigError(f"{source}: prompts.{name}: unknown prompt; the prompts are {', '.join(STAGE_PROMPTS)}")
        if not isinstance(parts, dict):
            raise ConfigError(f"{source}: prompts.{name}: a mapping with system and/or user")
        prompts[name] = {**prompts[name], **parts}
    return prompts


def _check_placeholders(name: str, prompt: Prompt, source: str) -> None:
    known = PROMPT_FIELDS[name]
    for part in ("system", "user"):
        try:
            string.Template(getattr(prompt, part)).substitute({field: "" for field in known})
        except KeyError as missing:
            raise ConfigError(f"{source}: prompts.{name}.{part}: unknown placeholder ${{{missing.args[0]}}}; "
                              f"this prompt knows {', '.join(sorted(known))}") from None
        except ValueError:
            raise ConfigError(f"{source}: prompts.{name}.{part}: a stray $ (write $$ for a dollar sign)") from None
