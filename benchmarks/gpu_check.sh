#!/usr/bin/env bash
# The GPU check (benchmarks/gpu_check.py) on a machine that lacks some of videofocus's packages and
# has no network: the wheels travel with the repository in wheels/ (ignored by git).
#
#   bash benchmarks/gpu_check.sh --build-wheels   # here, with network, once: builds wheels/ (~52 MiB)
#   bash benchmarks/gpu_check.sh                  # on the GPU machine: installs wheels/ into a private
#                                                 # folder, runs the check, writes $OUT/gpu_check.{json,md}
#   bash benchmarks/gpu_check.sh --dry-run        # anywhere: tiny shapes on the CPU, no wheels needed
#
# Why these wheels (the GPU image has torch 2.11, transformers 5.17, no PyAV, no pydantic, no DeepSpeed):
# transformers >= 5.23 (5.17 fails: generate rejects the shared vision features, `mm_encoder_outputs`);
# accelerate and peft at the versions the tests use; PyAV (the trainer decodes mp4); pydantic (the
# sample schema); DeepSpeed for the ZeRO-2 case, built here without compiled ops (it has no wheel on PyPI).
# Other arguments go to gpu_check.py (--budget SECONDS, --only CASE ...).
set -euo pipefail
cd "$(dirname "$0")/.."

WHEELS=wheels
LIMIT_MIB=60     # the device tool carries at most 64 MiB with the repository
DEEPSPEED=deepspeed==0.19.8
MANYLINUX=(--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64
           --platform manylinux2014_x86_64 --platform manylinux1_x86_64)

build_wheels() {
    # The versions installed here, i.e. the ones the test suite passed with.
    local pinned
    pinned=$(python3 -c 'import importlib.metadata as m; print(" ".join(f"{n}=={m.version(n)}" for n in (
        "transformers", "accelerate", "peft", "av", "pydantic", "pydantic-core", "annotated-types",
        "typing-inspection", "typing-extensions")))')
    rm -rf "$WHEELS.tmp" && mkdir "$WHEELS.tmp"
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        "${MANYLINUX[@]}" -d "$WHEELS.tmp" $pinned hjson==3.1.0
    DS_BUILD_OPS=0 python3 -m pip wheel -q --no-deps --no-build-isolation -w "$WHEELS.tmp" "$DEEPSPEED"
    local size
    size=$(du -sm "$WHEELS.tmp" | cut -f1)
    if (( size > LIMIT_MIB )); then
        echo "wheels take $size MiB, over $LIMIT_MIB MiB: they would not travel" >&2
        exit 1
    fi
    rm -rf "$WHEELS" && mv "$WHEELS.tmp" "$WHEELS"
    ls -1 "$WHEELS"
    echo "wheels/: $size MiB"
}

if [[ "${1:-}" == "--build-wheels" ]]; then
    build_wheels
    exit 0
fi

export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
if [[ " $* " != *" --dry-run "* ]]; then
    if [[ ! -d "$WHEELS" ]]; then
        echo "no $WHEELS/: run 'bash benchmarks/gpu_check.sh --build-wheels' first and carry it" >&2
        exit 1
    fi
    site=$(mktemp -d /tmp/videofocus-site.XXXXXX)
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" "$WHEELS"/*.whl
    export PYTHONPATH="$PWD/src:$site"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
fi
export PYTHONUNBUFFERED=1
exec python3 benchmarks/gpu_check.py --out "${OUT:-out/gpu_check}" "$@"
