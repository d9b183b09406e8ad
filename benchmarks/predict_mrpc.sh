#!/usr/bin/env bash
# End-to-end --PREDICT_ONLY timing on MRPC's test rows: full retention and a retention
# configuration alternated for a few rounds, each in a fresh main.py process. Prints the
# "Predicted ..." log line of each run (first batch, which traces the model, and the rest).
# Usage: benchmarks/predict_mrpc.sh GLUE_DIR FINETUNED_HDF5 OUTPUT_DIR [RETENTION] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
GLUE_DIR=${1:?GLUE_DIR}; CHECKPOINT=${2:?FINETUNED_HDF5}; OUTPUT_DIR=${3:?OUTPUT_DIR}
RETENTION=${4:-64,32,16,8,4,2}; ROUNDS=${5:-3}
for round in $(seq "$ROUNDS"); do
  for config in 128,128,128,128,128,128 "$RETENTION"; do
    out="$OUTPUT_DIR/${config}_round$round"
    python main.py --TASK mrpc --DATA_DIR "$GLUE_DIR/MRPC" --CHECKPOINT_PATH "$CHECKPOINT" \
      --MODEL_FORMAT HDF5 --BATCH_SIZE 128 --PREDICT_ONLY --RETENTION_CONFIG "$config" \
      --OUTPUT_DIR "$out" > /dev/null 2>&1
    echo "$config, round $round: $(grep Predicted "$out/log_file.txt")"
  done
done
