#!/usr/bin/env bash
# End-to-end --PREDICT_ONLY timing on MRPC's 1,725 test rows, each run a fresh main.py process,
# alternated for a few rounds: BERT padded to seq_len (--PADDING seq_len, the paper's baseline),
# BERT on real lengths (--PADDING batch, the strong one) and PoWER-BERT at a retention
# configuration with --PADDING batch. Prints the "Predicted ..." log line of each run (the
# first batch, which traces the model, apart from the rest).
# Usage: benchmarks/predict_mrpc.sh GLUE_DIR FINETUNED_HDF5 OUTPUT_DIR [RETENTION] [ROUNDS] [BATCH]
set -euo pipefail
cd "$(dirname "$0")/.."
GLUE_DIR=${1:?GLUE_DIR}; CHECKPOINT=${2:?FINETUNED_HDF5}; OUTPUT_DIR=${3:?OUTPUT_DIR}
RETENTION=${4:-66,50,41,9,3,1}; ROUNDS=${5:-3}; BATCH=${6:-64}
FULL=128,128,128,128,128,128
for round in $(seq "$ROUNDS"); do
  for run in "$FULL seq_len" "$FULL batch" "$RETENTION batch"; do
    set -- $run
    out="$OUTPUT_DIR/${1}_${2}_round$round"
    python main.py --TASK mrpc --DATA_DIR "$GLUE_DIR/MRPC" --CHECKPOINT_PATH "$CHECKPOINT" \
      --MODEL_FORMAT HDF5 --BATCH_SIZE "$BATCH" --PREDICT_ONLY --RETENTION_CONFIG "$1" \
      --PADDING "$2" --OUTPUT_DIR "$out" > /dev/null 2>&1
    echo "$1 --PADDING $2, round $round: $(grep Predicted "$out/log_file.txt")"
  done
done
