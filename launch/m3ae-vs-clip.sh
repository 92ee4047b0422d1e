#!/usr/bin/env bash
# M3AE against CLIP, objective against objective: the same phantoms, image encoder (ViT 128 px, patch 16,
# width 192, depth 6), report encoder, batch and steps as the quickstart's CLIP-tiny (trained first if
# runs/quickstart is missing). Pretrains configs/m3ae-tiny.yaml into runs/m3ae-tiny under mpirun -np 2 and
# prints one table: linear-probe macro AUC at 1/10/100 % of the labels on each image encoder, retrieval by
# embedding similarity over the 444 validation phantoms (chance R@10 = 0.023), and M3AE's retrieval through
# its matching head over the first 100 (N² fused passes; chance R@10 = 0.1); then M3AE's own objectives.
#   launch/m3ae-vs-clip.sh
#   CARINA_BINARY=path launch/m3ae-vs-clip.sh      # use this carina binary instead of building one
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source launch/carina-binary.sh
carina=$CARINA_BINARY
[[ -f runs/quickstart/checkpoints/latest ]] || launch/quickstart.sh
launch/mpirun.sh 2 train --config configs/m3ae-tiny.yaml --run-dir runs/m3ae-tiny

echo
echo "Phantoms: CLIP-tiny (runs/quickstart) and M3AE-tiny (runs/m3ae-tiny), the same data, encoders, batch and steps"
"$carina" compare "runs/quickstart#=CLIP (InfoNCE)" "runs/m3ae-tiny#=M3AE (MLM + MIM + ITM)" \
    --metric "probe_1pct/macro_auc=probe 1 %" --metric "probe_10pct/macro_auc=probe 10 %" --metric "probe_100pct/macro_auc=probe 100 %" \
    --metric "retrieval/r@1_i2t=R@1 i2t" --metric "retrieval/r@10_i2t=R@10 i2t" --metric "retrieval/r@10_t2i=R@10 t2i" \
    --metric "pair_retrieval/r@1_i2t=ITM R@1 i2t" --metric "pair_retrieval/r@10_i2t=ITM R@10 i2t" --metric "pair_retrieval/r@10_t2i=ITM R@10 t2i"
echo
"$carina" compare "runs/m3ae-tiny#objectives=M3AE on the validation phantoms" \
    --metric "/mlm_accuracy=MLM accuracy" --metric "/mim_loss=MIM loss" --metric "/itm_accuracy=ITM accuracy" --metric "/score=selection score"
