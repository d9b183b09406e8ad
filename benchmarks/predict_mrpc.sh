#!/usr/bin/env bash
# End-to-end --PREDICT_ONLY timing on MRPC's 1,725 test rows, each run a fresh main.py process,
# alternated for a few rounds: BERT padded to seq_len (--PADDING seq_len, the paper's baseline),
# BERT on real lengths (--PADDING batch, the strong one) and PoWER-BERT at a retention
# configuration with --PADDING batch. Prints the "Predicted ..." log line of each run (the
# first batch, which traces the model, apart from the rest), then the wall time of the whole
# process (importing TensorFlow, reading and tokenizing, building and loading the model too).
# Usage: benchmarks/predict_mrpc.sh GLUE_DIR FINETUNED_HDF5 OUTPUT_DIR [RETENTION] [ROUNDS] [BATCH]
#          [MODE] [POWER_BERT_HDF5]
#   MODE: absolute (default) or relative (RETENTION then holds shares, e.g. 0.8,0.6,0.5,0.2,0.1,0.01)
#   POWER_BERT_HDF5: the PoWER-BERT run's checkpoint, e.g. retrained.hdf5 (default FINETUNED_HDF5)
set -euo pipefail
cd "$(dirname "$0")/.."
GLUE_DIR=${1:?GLUE_DIR}; CHECKPOINT=${2:?FINETUNED_HDF5}; OUTPUT_DIR=${3:?OUTPUT_DIR}
RETENTION=${4:-66,50,41,9,3,1}; ROUNDS=${5:-3}; BATCH=${6:-64}; MODE=${7:-absolute}
POWER_CHECKPOINT=${8:-$CHECKPOINT}
FULL=128,128,128,128,128,128
for round in $(seq "$ROUNDS"); do
  for run in "$FULL seq_len absolute $CHECKPOINT" "$FULL batch absolute $CHECKPOINT" \
             "$RETENTION batch $MODE $POWER_CHECKPOINT"; do
    set -- $run
    out="$OUTPUT_DIR/${1}_${2}_round$round"
    started=$EPOCHREALTIME
    python main.py --TASK mrpc --DATA_DIR "$GLUE_DIR/MRPC" --CHECKPOINT_PATH "$4" \
      --MODEL_FORMAT HDF5 --BATCH_SIZE "$BATCH" --PREDICT_ONLY --RETENTION_CONFIG "$1" \
      --PADDING "$2" --RETENTION_MODE "$3" --OUTPUT_DIR "$out" > /dev/null 2>&1
    process=$(awk "BEGIN { printf \"%.2f\", $EPOCHREALTIME - $started }")
    echo "$1 --PADDING $2 --RETENTION_MODE $3, round $round: $(grep Predicted "$out/log_file.txt");" \
      "process $process s"
  done
done
