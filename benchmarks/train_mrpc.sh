#!/usr/bin/env bash
# The README's training command on the embedded MiniLM and the full MRPC (3 epochs per step),
# then --EVAL_ONLY of retrained.hdf5 at the logged retention configuration.
# Usage: benchmarks/train_mrpc.sh GLUE_DIR OUTPUT_DIR [extra main.py flags]
set -euo pipefail
cd "$(dirname "$0")/.."
GLUE_DIR=${1:?GLUE_DIR}; OUTPUT_DIR=${2:?OUTPUT_DIR}; shift 2
mkdir -p "$OUTPUT_DIR"
python main.py --TASK "mrpc" --DATA_DIR "$GLUE_DIR/MRPC" --EPOCH 3 --BATCH_SIZE 64 \
  --LR_SOFT_EXTRACT 0.003 --LR_BERT 0.00006 --LAMBDA 0.003 --OUTPUT_DIR "$OUTPUT_DIR" "$@"
RETENTION=$(grep -o 'Retention Configuration : \[[0-9, ]*\]' "$OUTPUT_DIR/log_file.txt" | tail -1 \
  | sed 's/.*\[\(.*\)\]/\1/; s/ //g')
python main.py --TASK "mrpc" --DATA_DIR "$GLUE_DIR/MRPC" --EVAL_ONLY --MODEL_FORMAT HDF5 \
  --CHECKPOINT_PATH "$OUTPUT_DIR/retrained.hdf5" --RETENTION_CONFIG "$RETENTION" \
  --BATCH_SIZE 128 --OUTPUT_DIR "$OUTPUT_DIR"
