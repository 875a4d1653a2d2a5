#!/usr/bin/env bash
# Save or restore the shipped decoder's training run (the project's main run lives in runs/main, ignored).
#
#   scripts/training_checkpoint.sh save     # runs/main -> weights/training/ + weights/decoder.npz etc.
#   scripts/training_checkpoint.sh resume   # weights/training/ -> runs/main (if absent), then train in the background
#   scripts/training_checkpoint.sh stop     # SIGTERM: the run writes a checkpoint of its last step and exits
#
# The weights' moving average (ema_decoder.npz) is committed with the checkpoint; it is what gets validated
# and shipped. The optimizer state (optimizer.npz, 9 MB) is not committed: a run restored from git restarts Adam's
# moments (the step count and learning-rate schedule continue). The data order continues exactly.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=runs/main
SAVED=weights/training
checkpoint_step() { python -c "import json; print(json.load(open('$RUN/state.json'))['state']['step'])"; }
PLATEAU_HOURS=2  # stop when validation improved < 2 % over this many hours of training (issue #4)
# Learning rate: 3e-4 for steps 414-3602, then annealed to the paper's 1e-4 (both decayed by 1 / (1 + 5e-5 * step)).
case "${1:-}" in
  save)
    mkdir -p "$SAVED"
    cp "$RUN/decoder.npz" "$RUN/ema_decoder.npz" "$RUN/state.json" "$RUN/log.csv" "$RUN/val.csv" "$SAVED/"
    cp "$RUN/best_decoder.npz" weights/decoder.npz
    python - "$RUN" "$PLATEAU_HOURS" <<'PY'
import sys
from pathlib import Path
from PIL import Image
from adain.train import plot_losses
run = Path(sys.argv[1])
plot_losses(run, float(sys.argv[2]))  # redrawn with this code's plot (a long run keeps the code it started with)
grid = Image.open(run / "val_grid.png")
grid.resize((grid.width * 3 // 4, grid.height * 3 // 4), Image.LANCZOS).save("weights/val_grid.png", optimize=True)
Image.open(run / "loss_curve.png").save("weights/loss_curve.png", optimize=True)
PY
    echo "saved $(checkpoint_step) steps to $SAVED and weights/";;
  resume)
    if [ ! -f "$RUN/state.json" ]; then
      mkdir -p "$RUN" && cp "$SAVED"/* "$RUN/" && cp weights/decoder.npz "$RUN/best_decoder.npz"
    fi
    nohup adain train --content ../shared/train_data/content --style ../shared/train_data/style --out "$RUN" \
      --steps 100000 --batch 8 --crop "${CROP:-256}" --width 0.5 --lr "${LR:-1e-4}" --val-every "${VAL_EVERY:-50}" --checkpoint-minutes 4 \
      --ema 0.99 --reuse "${REUSE:-1}" --plateau-hours "$PLATEAU_HOURS" --resume >> runs/main.log 2>&1 &
    echo "training in the background (pid $!), log: runs/main.log";;
  stop)
    pkill -TERM -f "adain train .*--out $RUN " || { echo "no training running" >&2; exit 1; }
    while pgrep -f "adain train .*--out $RUN " > /dev/null; do sleep 1; done
    echo "stopped; checkpoint at step $(checkpoint_step)";;
  *) echo "usage: $0 save|resume|stop" >&2; exit 2;;
esac
