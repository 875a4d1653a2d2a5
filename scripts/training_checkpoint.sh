#!/usr/bin/env bash
# Save, ship or resume the decoder-v3 training run (it lives in runs/v3, ignored by git).
#
#   scripts/training_checkpoint.sh resume          # weights/training_v3/ -> runs/v3 (if absent), then train in the background
#   scripts/training_checkpoint.sh stop            # SIGTERM: the run writes a checkpoint of its last step and exits
#   scripts/training_checkpoint.sh save [RUN]      # runs/v3 (or a GPU run's folder) -> weights/training_v3/
#   scripts/training_checkpoint.sh ship            # weights/training_v3/best_full_decoder.npz -> weights/decoder.npz
#
# weights/training_v3/ is the one folder the repository keeps of a run: the latest checkpoint (the moving average of
# the weights, float16, which a resume also takes as the raw weights; Adam then starts with fresh moments) and the best weights by the 512-px validation,
# with state.json, the logs and figures. Commit it a few times per working period, not at every checkpoint: each commit
# adds about 7 MB per changed weights file at the paper's width (weights/MODEL_CARD.md, "Repository growth").
#
# Recipe (issue #22, chosen by 8-minute pilots on equal CPU time, scored at 512 px: weights/MODEL_CARD.md): decoder v2
# (step 1,200, width 0.5, multi-level) trained on without identity pairs (the lever: raw style -8.7 % in 8 minutes,
# the v2 recipe -0.5 %) at λ 40 then 15 (below), sharp crops, style augmentation; precision and compile mode chosen for the CPU
# (adain.train.hardware). The paper's width (--width 1.0 --widen) tied on equal time and costs 3x the decoder's size.
# From step 923 on: batch 16, lr 1e-4 (the GPU run of session 10, scripts/gpu_train.py: 4,854 steps in 8.7 minutes on
# an H200); the CPU goes on with the same recipe, resuming the optimizer's state where the run folder has it.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=runs/v3
SAVED=weights/training_v3
STYLE_WEIGHT="${STYLE_WEIGHT:-15}"  # 40 for steps 1-410: at 512 px raw content rose 6.6 % from step 200 to 400 while
                                   # style fell 3.7 %; the pilots had λ 15 at the same style gain for less content
checkpoint_step() { python -c "import json; print(json.load(open('$1/state.json'))['state']['step'])"; }
case "${1:-}" in
  resume)
    if [ ! -f "$RUN/state.json" ] && [ -f "$SAVED/state.json" ]; then
      python -c "import sys; from adain.train.state import restore_checkpoint; restore_checkpoint(*sys.argv[1:])" "$SAVED" "$RUN"
    fi
    nohup adain train --content ../shared/train_data/content --style ../shared/train_data/style --out "$RUN" \
      --init weights/training_v2/best_decoder.npz --sharp-crops --style-augment \
      --steps 100000 --batch 16 --crop 256 --lr "${LR:-1e-4}" --style-weight "$STYLE_WEIGHT" \
      --val-every 100 --full-val-every 200 --checkpoint-minutes 4 --ema 0.99 --resume >> "$RUN.log" 2>&1 &
    echo "training in the background (pid $!), log: $RUN.log";;
  stop)
    pkill -TERM -f "adain train .*--out $RUN " || { echo "no training running" >&2; exit 1; }
    while pgrep -f "adain train .*--out $RUN " > /dev/null; do sleep 1; done
    echo "stopped; checkpoint at step $(checkpoint_step "$RUN")";;
  save)
    FROM="${2:-$RUN}"
    mkdir -p "$SAVED"
    for f in log.csv val.csv val_full.csv; do [ ! -f "$FROM/$f" ] || cp "$FROM/$f" "$SAVED/"; done
    python - "$FROM" "$SAVED" <<'PY'
import json
import sys
from pathlib import Path
from PIL import Image
from adain.decoder import decoder_meta, load_decoder, save_decoder
from adain.train.plots import plot_losses
from adain.train.state import checkpoint_dir, write_atomic
run, saved = Path(sys.argv[1]), Path(sys.argv[2])
# float16: half the bytes, well below a step's change; the optimizer's state is left out (Adam resumes with fresh moments)
for path in (checkpoint_dir(run) / "ema_decoder.npz", run / "best_full_decoder.npz"):
    if path.exists():
        save_decoder(load_decoder(path), saved / path.name, dtype="float16", meta=decoder_meta(path))
manifest = json.loads((run / "state.json").read_text())
write_atomic(saved / "state.json", json.dumps({**manifest, "checkpoint": ""}, indent=1))  # the flat layout
plot_losses(run)
grid = Image.open(run / "val_grid.png")
grid.resize((grid.width * 3 // 4, grid.height * 3 // 4), Image.LANCZOS).save(saved / "val_grid.png", optimize=True)
Image.open(run / "loss_curve.png").save(saved / "loss_curve.png", optimize=True)
PY
    echo "saved step $(checkpoint_step "$FROM") to $SAVED";;
  ship)
    cp "$SAVED/best_full_decoder.npz" weights/decoder.npz
    cp "$SAVED/loss_curve.png" weights/loss_curve.png && cp "$SAVED/val_grid.png" weights/val_grid.png
    echo "weights/decoder.npz is now $SAVED/best_full_decoder.npz";;
  *) echo "usage: $0 resume|stop|save [RUN]|ship" >&2; exit 2;;
esac
