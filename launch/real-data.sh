#!/usr/bin/env bash
# Real films end to end: prepares ../shared/data/covid-cxr (images + clinical notes) and
# ../shared/data/nih-cxr14-1000 (images + 14 findings) into shards, pretrains CLIP-tiny contrastively on the
# first (configs/clip-covid.yaml) and linear-probes the second with the pretrained and the untrained encoder.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
data=${DATA:-../shared/data}
if [[ ! -d $data/covid-cxr || ! -d $data/nih-cxr14-1000 ]]; then
    echo "launch/real-data.sh: $data/covid-cxr and $data/nih-cxr14-1000 are needed (see ../shared/data/README.md)" >&2
    exit 1
fi
if ! command -v swift >/dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then export PATH="/opt/swift/usr/bin:$PATH"; fi
bash launch/setup.sh
swift build -c release
carina=.build/release/carina
[[ -f shards/covid/dataset.json ]] || $carina prepare covid-cxr --root "$data/covid-cxr" --out shards/covid --allow-empty-reports
[[ -f shards/nih/dataset.json ]] || $carina prepare nih-cxr14 --root "$data/nih-cxr14-1000" --out shards/nih --image-size 128 --resize square
launch/mpirun.sh 2 train --config configs/clip-covid.yaml
launch/mpirun.sh 2 eval --run runs/clip-covid --data shards/nih --eval-split valid
