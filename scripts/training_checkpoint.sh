#!/usr/bin/env bash
# Save or restore the decoder-v2 training run (it lives in runs/v2, ignored by git).
#
#   scripts/training_checkpoint.sh save     # runs/v2 -> weights/training_v2/ (checkpoint, logs, best, curve, grid)
#   scripts/training_checkpoint.sh ship     # weights/training_v2/best_decoder.npz -> weights/decoder.npz (the default)
#   scripts/training_checkpoint.sh resume   # weights/training_v2/ -> runs/v2 (if absent), then train in the background
#   scripts/training_checkpoint.sh stop     # SIGTERM: the run writes a checkpoint of its last step and exits
#
# Recipe (issue #15): the multi-level decoder grown from the paper decoder of weights/training/ (its step-4,200
# moving average, validation 14.75), identity pairs (1 of 8), sharp crops, style augmentation, bf16;
# λ = 10 for steps 1-2xx, then 15: at λ 10 the content loss fell 20 % but the style loss rose 4 % (validation, step 200);
# lr 1e-4 for steps 1-840, then 5e-5 (validation had flattened at 13.2; it fell to 12.5 by step 1,200).
# The weights' moving average (ema_decoder.npz) is committed with the checkpoint; it is what gets validated and
# shipped. The optimizer state (optimizer.npz, by variable name) is not committed: a run restored from git restarts Adam's moments
# (the step count and learning-rate schedule continue). The data order continues exactly.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=runs/v2
SAVED=weights/training_v2
checkpoint_step() { python -c "import json; print(json.load(open('$RUN/state.json'))['state']['step'])"; }
# bf16 halves the step time on CPUs with AVX-512 BF16 / AMX; on AVX2-only machines it is emulated and slower.
PRECISION="${PRECISION:-$(grep -q avx512_bf16 /proc/cpuinfo && echo mixed_bfloat16 || echo float32)}"
case "${1:-}" in
  save)
    mkdir -p "$SAVED"
    cp "$RUN/decoder.npz" "$RUN/ema_decoder.npz" "$RUN/best_decoder.npz" "$RUN/state.json" "$RUN/log.csv" "$RUN/val.csv" "$SAVED/"
    python - "$RUN" "$SAVED" <<'PY'
import sys
from pathlib import Path
from PIL import Image
from adain.train.plots import plot_losses
run, saved = Path(sys.argv[1]), Path(sys.argv[2])
plot_losses(run)  # redrawn with this code's plot (a long run keeps the code it started with)
grid = Image.open(run / "val_grid.png")
grid.resize((grid.width * 3 // 4, grid.height * 3 // 4), Image.LANCZOS).save(saved / "val_grid.png", optimize=True)
Image.open(run / "loss_curve.png").save(saved / "loss_curve.png", optimize=True)
PY
    echo "saved $(checkpoint_step) steps to $SAVED";;
  ship)
    cp "$SAVED/best_decoder.npz" weights/decoder.npz
    cp "$SAVED/loss_curve.png" weights/loss_curve.png && cp "$SAVED/val_grid.png" weights/val_grid.png
    echo "weights/decoder.npz is now $SAVED/best_decoder.npz";;
  resume)
    if [ ! -f "$RUN/state.json" ]; then
      mkdir -p "$RUN" && cp "$SAVED"/*.npz "$SAVED"/*.csv "$SAVED"/state.json "$RUN/"
    fi
    nohup adain train --content ../shared/train_data/content --style ../shared/train_data/style --out "$RUN" \
      --init weights/training/best_decoder.npz --multilevel --identity 1 --sharp-crops --style-augment \
      --steps 100000 --batch 8 --crop 256 --width 0.5 --lr "${LR:-5e-5}" --style-weight "${STYLE_WEIGHT:-15}" --precision "$PRECISION" \
      --val-every 100 --checkpoint-minutes 4 --ema 0.99 --resume >> "$RUN.log" 2>&1 &
    echo "training in the background (pid $!, $PRECISION), log: $RUN.log";;
  stop)
    pkill -TERM -f "adain train .*--out $RUN " || { echo "no training running" >&2; exit 1; }
    while pgrep -f "adain train .*--out $RUN " > /dev/null; do sleep 1; done
    echo "stopped; checkpoint at step $(checkpoint_step)";;
  *) echo "usage: $0 save|ship|resume|stop" >&2; exit 2;;
esac
