"""Setting the policy up for training: load, freeze the vision tower / projector, LoRA, gradient
checkpointing; the frozen reference model for the KL term; saving the result so that
`from_pretrained(output_dir)` loads it."""

from __future__ import annotations

from contextlib import contextmanager, nullcontext
from pathlib import Path

import torch

from videofocus.errors import ConfigError
from videofocus.storage import with_default_permissions
from videofocus.train.config import GRPOConfig, TrainConfig

VISION_PREFIX = "visual."
PROJECTOR_MARK = "merger"   # Qwen2.5-VL `visual.merger`, Qwen3-VL `visual.merger` + `visual.deepstack_merger_list`


def load_policy(config: TrainConfig, device: torch.device):
    """(model, processor) ready to train: frozen parts frozen, LoRA attached, checkpointing on."""
    from videofocus.models import load_model

    model, processor = load_model(config.model, dtype=config.load_dtype, device=device,
                                  attn_implementation=config.attn_implementation)
    if config.mixed_precision == "no" and model.dtype in (torch.bfloat16, torch.float16):   # dtype "auto"
        raise ConfigError(f"config key 'dtype': {config.model} loaded in {model.dtype}, which needs autocast (the "
                          "trained parameters are kept in float32): set mixed_precision=bf16, or dtype=float32")
    freeze_vision(model, tower=config.freeze_vision_tower, projector=config.freeze_projector)
    if config.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if config.use_lora:
        model = attach_lora(model, config)
    model.train()
    return model, processor


def freeze_vision(model: torch.nn.Module, *, tower: bool, projector: bool) -> None:
    """Stop gradients into the vision encoder blocks (`tower`) and/or the projector (`projector`)."""
    for name, parameter in model.named_parameters():
        if not is_vision_parameter(name):
            continue
        in_projector = PROJECTOR_MARK in name
        if (in_projector and projector) or (not in_projector and tower):
            parameter.requires_grad_(False)


def is_vision_parameter(name: str) -> bool:
    return name.startswith(VISION_PREFIX) or f".{VISION_PREFIX}" in name


def vision_trainable(model: torch.nn.Module) -> bool:
    """Whether any parameter of the vision module (tower or projector) is trained."""
    return any(parameter.requires_grad for name, parameter in model.named_parameters() if is_vision_parameter(name))


def upcast_trained(model: torch.nn.Module) -> torch.dtype | None:
    """Keep the trained parameters in float32 (AdamW would lose every update smaller than a bf16 weight's
    resolution); frozen ones stay as loaded. Returns the dtype the upcast parameters had, None if none."""
    loaded = None
    for parameter in model.parameters():
        if parameter.requires_grad and parameter.is_floating_point() and parameter.dtype != torch.float32:
            loaded = parameter.dtype
            parameter.data = parameter.data.float()
    return loaded


def attach_lora(model: torch.nn.Module, config: TrainConfig) -> torch.nn.Module:
    """Wrap the model with LoRA adapters on the language model's `lora_target_modules` (never on the
    vision tower, whose blocks reuse some of those names); everything else is frozen."""
    from peft import LoraConfig, get_peft_model

    names = "|".join(config.lora_target_modules)
    lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules=rf".*language_model.*\.({names})", task_type="CAUSAL_LM")
    if config.gradient_checkpointing:
        model.enable_input_require_grads()
    return get_peft_model(model, lora)


def load_reference(config: GRPOConfig, device: torch.device) -> torch.nn.Module | None:
    """The frozen reference policy for the KL term: None when beta = 0 (nothing loaded) or with LoRA
    (the reference is then the policy with its adapters disabled, see `reference_context`)."""
    if config.beta == 0.0 or config.use_lora:
        return None
    from videofocus.models import load_model

    reference, _ = load_model(config.model, dtype=config.load_dtype, device=device,
                              attn_implementation=config.attn_implementation)
    return reference.eval().requires_grad_(False)


@contextmanager
def reference_context(policy: torch.nn.Module, reference: torch.nn.Module | None):
    """Yield the module that computes reference log-probs: the reference model, or the LoRA policy
    with its adapters disabled."""
    if reference is not None:
        yield reference
        return
    with policy.disable_adapter() if hasattr(policy, "disable_adapter") else nullcontext():
        yield policy


def save_pretrained(model: torch.nn.Module, processor, output_dir: Path, state_dict: dict | None = None,
                    dtype: torch.dtype | None = None) -> None:
    """Save the trained model and its processor at `output_dir` (loadable with from_pretrained), with
    the floating-point weights in `dtype` when given. A LoRA policy is saved merged, with the adapters
    alone in `output_dir/adapter`."""
    output_dir.mkdir(parents=True, exist_ok=True)
    if hasattr(model, "merge_and_unload"):
        model.save_pretrained(output_dir / "adapter")
        model = model.merge_and_unload()
        state_dict = None
    if dtype is not None:
        state_dict = _cast_floating(model.state_dict() if state_dict is None else state_dict, dtype)
    model.save_pretrained(output_dir, state_dict=state_dict)
    if dtype is not None:   # transformers wrote the dtype of the first parameter, maybe a float32 trained one
        model.config.dtype = str(dtype).removeprefix("torch.")
        model.config.save_pretrained(output_dir)
    _forget_last_call(processor.tokenizer)
    processor.save_pretrained(output_dir)
    with_default_permissions(output_dir)


def _forget_last_call(tokenizer) -> None:
    """A fast tokenizer keeps the padding and truncation of its last call, and save_pretrained writes
    them into tokenizer.json as every later user's defaults (after a GRPO rollout: left padding). Calls
    that pad or truncate set them again."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        backend.no_padding()
        backend.no_truncation()


def _cast_floating(state_dict: dict[str, torch.Tensor], dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """The floating-point tensors in `dtype`; tensors that shared memory (tied weights) still share it."""
    cast: dict[tuple, torch.Tensor] = {}
    result = {}
    for name, tensor in state_dict.items():
        if tensor.is_floating_point():
            key = (tensor.data_ptr(), tuple(tensor.shape))
            if key not in cast:
                cast[key] = tensor.to(dtype)
            tensor = cast[key]
        result[name] = tensor
    return result
