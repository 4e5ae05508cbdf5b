#!/usr/bin/env bash
# Claim 2 of issue 16 as measured in benchmarks/RESULTS.md (probes P4 and P5, runs P5, Q and R): teach the
# stage-1 warm-up to read the brief-evidence flash on the perception loop's 8-frame views (SFT with
# loop_view_frames 8: 200 steps, then 600 more), then compare, under 3-round ITP, that warm start with
# single-round GRPO and 3-round GRPO from it (run P5), 3-round GRPO with the evidence gate (run Q), and
# both GRPO arms for 180 steps instead of 60, the 3-round one gated and ungated (run R).
#
# Usage: bash benchmarks/loop_reading_warmup.sh OUT [SEEDS...]   (default seeds 0 1 2)
# On 2 CPU cores: ~15 min of SFT, then a seed takes ~10 min for run P5, ~5 min for run Q, ~35 min for run R.
# Needs a git checkout: the probes started from the warm-up as shipped at fbcac59 (stage 1 only; the
# shipped warm-up has had a second stage since).
set -euo pipefail

out=$(realpath -m "${1:?usage: bash benchmarks/loop_reading_warmup.sh OUT [SEEDS...]}")
shift
seeds=("${@:-0 1 2}")
repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
stage1_commit=fbcac59

mkdir -p "$out/stage1"
for file in $(git -C "$repo" ls-tree --name-only "$stage1_commit" src/videofocus/demo/warmup_model/); do
  git -C "$repo" show "$stage1_commit:$file" > "$out/stage1/$(basename "$file")"
done

videofocus data synth --out "$out/data" --n 1000 --seed 100 --tasks brief_evidence --split train

# The loop-view SFT of probes P4 (from stage 1) and P5 (P4 continued on the same data).
sft_config() {  # name, starting model, seed, steps, save_steps
  cat > "$out/$1.yaml" <<EOF
model: $2
output_dir: $out/$1
datasets:
  - path: $out/data/samples.jsonl
protocol: videofocus
seed: $3
video_fps: 2.0
video_min_frames: 4
video_max_frames: 16
video_min_pixels: 4096
video_max_pixels: 4096
image_min_pixels: 4096
image_max_pixels: 4096
loop_view_frames: 8
loss_weighting: sample
cache_examples: true
freeze_vision_tower: false
freeze_projector: false
dtype: float32
per_device_batch_size: 16
max_steps: $4
learning_rate: 0.001
lr_scheduler: linear
save_steps: $5
save_total_limit: 1
tensorboard: false
EOF
}
sft_config p4 "$out/stage1" 100 200 50
sft_config p5 "$out/p4" 101 600 100
[ -f "$out/p4/model.safetensors" ] || videofocus sft --config "$out/p4.yaml"
[ -f "$out/p5/model.safetensors" ] || videofocus sft --config "$out/p5.yaml"

itp_run() {  # output folder, seed, extra flags
  python "$repo/benchmarks/itp_training.py" --out "$1" --warm-start "$out/p5" --train 1000 --test 300 \
    --grpo-steps 60 --grpo-lr 1e-4 --seed "$2" "${@:3}"
}
for seed in ${seeds[*]}; do
  itp_run "$out/P5_s$seed" "$seed"
  itp_run "$out/Q_s$seed" "$seed" --answer-needs-evidence --multi-round-only
  itp_run "$out/R_s$seed" "$seed" --answer-needs-evidence --grpo-steps 180
  itp_run "$out/R_ungated_s$seed" "$seed" --grpo-steps 180 --multi-round-only
done
