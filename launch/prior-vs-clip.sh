#!/usr/bin/env bash
# PRIOR against CLIP and M3AE on the quickstart's phantoms, data, report encoder, batch and steps (600 of
# global batch 64). Trains configs/prior-tiny.yaml into runs/prior-tiny under mpirun -np 2 (the three
# stages: 300 alignment, 150 prototypes, 150 reconstruction steps) and prints one table beside CLIP-tiny
# (runs/quickstart) and M3AE-tiny (runs/m3ae-tiny) where those runs exist (launch/quickstart.sh and
# launch/m3ae-vs-clip.sh make them): zero-shot macro AUC by prompt pairs, linear-probe macro AUC at
# 1/10/100 % of the labels, retrieval R@10 over the 444 validation phantoms (chance 0.023); then PRIOR's own
# zero-shot score on balanced single-finding phantoms never trained on (its CheXpert 5x200 protocol).
#   launch/prior-vs-clip.sh
#   CARINA_BINARY=path launch/prior-vs-clip.sh      # use this carina binary instead of building one
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source launch/carina-binary.sh
carina=$CARINA_BINARY
[[ -f runs/prior-tiny/checkpoints/latest ]] || launch/mpirun.sh 2 train --config configs/prior-tiny.yaml --run-dir runs/prior-tiny

runs=()
[[ -f runs/quickstart/checkpoints/latest ]] && runs+=("runs/quickstart#=CLIP (InfoNCE)")
[[ -f runs/m3ae-tiny/checkpoints/latest ]] && runs+=("runs/m3ae-tiny#=M3AE (MLM + MIM + ITM)")
runs+=("runs/prior-tiny#=PRIOR (3 stages)")
echo
echo "Phantoms: the same data, report encoder, batch and steps"
"$carina" compare "${runs[@]}" \
    --metric "zero_shot/macro_auc=zero-shot AUC" \
    --metric "probe_1pct/macro_auc=probe 1 %" --metric "probe_10pct/macro_auc=probe 10 %" --metric "probe_100pct/macro_auc=probe 100 %" \
    --metric "retrieval/r@10_i2t=R@10 i2t" --metric "retrieval/r@10_t2i=R@10 t2i"
echo
"$carina" compare "runs/prior-tiny#=PRIOR, balanced single-finding phantoms" \
    --metric "balanced_classifier/single_label_accuracy=accuracy (PRIOR score)" --metric "balanced_classifier/single_label_macro_f1=macro F1" \
    --metric "balanced_classifier/cohen_kappa=kappa" --metric "balanced_zero_shot/single_label_accuracy=accuracy (prompt pairs)"
