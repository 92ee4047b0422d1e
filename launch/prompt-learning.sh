#!/usr/bin/env bash
# PsPG's comparison in one command: on the quickstart's CLIP-tiny (trained first if runs/quickstart is
# missing), trains CoOp, DualCoOp and PsPG on the phantoms' findings with two findings held out of training
# (configs/{coop,dualcoop,pspg}-tiny.yaml, all scoring the global image feature, and PsPG with its Spatial
# Fusion, configs/pspg-tiny-fusion.yaml), and prints one table: seen and unseen macro AUC and mAP,
# trainable parameters, minutes — macro metrics over the findings every row scores (zero-shot has no prompt
# pair for "No Finding", so it is left out of every row). The fixed-prompt zero-shot and linear-probe rows are the frozen CLIP
# evaluated inside the PsPG run (the probe needs labels, so it has no unseen column).
# Where ../shared/data is present (launch/real-data.sh prepared shards/nih and runs/clip-covid), the same
# on NIH ChestX-ray14's findings from the CLIP pretrained on the COVID notes (REAL=0 skips it).
#   launch/prompt-learning.sh
#   CARINA_BINARY=path launch/prompt-learning.sh     # use this carina binary instead of building one
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source launch/carina-binary.sh
carina=$CARINA_BINARY
[[ -f runs/quickstart/checkpoints/latest ]] || launch/quickstart.sh

table() {  # table TITLE SUFFIX [RUN=NAME...]: the runs runs/METHOD-SUFFIX side by side, then any others
    local s=$2
    echo
    echo "$1"
    "$carina" compare \
        "runs/pspg-$s#zero_shot=fixed-prompt zero-shot (frozen CLIP)" "runs/pspg-$s#probe_100pct=linear probe on CLIP features" \
        "runs/coop-$s=CoOp" "runs/dualcoop-$s=DualCoOp" "runs/pspg-$s=PsPG" "${@:3}" \
        --metric "_seen/macro_auc=seen macro AUC" --metric "_unseen/macro_auc=unseen macro AUC" \
        --metric "_seen/map=seen mAP" --metric "_unseen/map=unseen mAP" --same-classes
}

for config in coop-tiny dualcoop-tiny pspg-tiny pspg-tiny-fusion; do
    launch/mpirun.sh 2 train --config "configs/$config.yaml" --run-dir "runs/$config"
done
table "Phantoms: CLIP-tiny (runs/quickstart), 7 findings seen, Atelectasis and Edema unseen" tiny \
    "runs/pspg-tiny-fusion=PsPG with Spatial Fusion"

data=${DATA:-../shared/data}
if [[ ${REAL:-1} == 1 && -d $data/nih-cxr14-1000 ]]; then
    [[ -f runs/clip-covid/checkpoints/latest && -f shards/nih/dataset.json ]] || CARINA_BINARY=$carina launch/real-data.sh
    for config in coop-nih dualcoop-nih pspg-nih pspg-nih-fusion; do
        launch/mpirun.sh 2 train --config "configs/$config.yaml" --run-dir "runs/$config"
    done
    table "NIH ChestX-ray14 (1000 films): CLIP-tiny pretrained on COVID notes (runs/clip-covid), 12 findings seen, Pneumonia and Edema unseen" nih \
        "runs/pspg-nih-fusion=PsPG with Spatial Fusion"
fi
