#!/usr/bin/env bash
# benchmarks/predict.sh on MRPC's 1,725 test rows, with the GLUE folder as its first argument.
# Usage: benchmarks/predict_mrpc.sh GLUE_DIR FINETUNED_HDF5 OUTPUT_DIR [RETENTION] [ROUNDS] [BATCH]
#          [MODE] [POWER_BERT_HDF5]   (see benchmarks/predict.sh)
set -euo pipefail
GLUE_DIR=${1:?GLUE_DIR}
exec "$(dirname "$0")/predict.sh" mrpc "$GLUE_DIR/MRPC" "${@:2}"
