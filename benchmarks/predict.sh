#!/usr/bin/env bash
# End-to-end --PREDICT_ONLY timing on a task's test rows, each run a fresh main.py process,
# alternated for a few rounds: BERT padded to seq_len (--PADDING seq_len, the paper's baseline),
# BERT on real lengths (--PADDING batch, the strong one) and PoWER-BERT at a retention
# configuration with --PADDING batch. Prints the "Predicted ..." log line of each run (the
# first batch, which traces the model, apart from the rest), then the wall time of the whole
# process (importing TensorFlow, reading and tokenizing, building and loading the model too).
# Usage: benchmarks/predict.sh TASK DATA_DIR FINETUNED_HDF5 OUTPUT_DIR [RETENTION] [ROUNDS] [BATCH]
#          [MODE] [POWER_BERT_HDF5]
#   DATA_DIR: the task's folder, holding test.tsv (e.g. ../shared/glue/MRPC, ../shared/imdb)
#   MODE: absolute (default) or relative (RETENTION then holds shares, e.g. 0.8,0.6,0.5,0.2,0.1,0.01)
#   POWER_BERT_HDF5: the PoWER-BERT run's checkpoint, e.g. retrained.hdf5 (default FINETUNED_HDF5)
# The models are the embedded MiniLM's (6 blocks); BERT keeps seq_len word vectors in each.
set -euo pipefail
cd "$(dirname "$0")/.."
TASK=${1:?TASK}; DATA_DIR=${2:?DATA_DIR}; CHECKPOINT=${3:?FINETUNED_HDF5}; OUTPUT_DIR=${4:?OUTPUT_DIR}
RETENTION=${5:-66,50,41,9,3,1}; ROUNDS=${6:-3}; BATCH=${7:-64}; MODE=${8:-absolute}
POWER_CHECKPOINT=${9:-$CHECKPOINT}
SEQ_LEN=$(python -c "from data.tasks import get_task; print(get_task('$TASK').seq_len)")
FULL=$SEQ_LEN,$SEQ_LEN,$SEQ_LEN,$SEQ_LEN,$SEQ_LEN,$SEQ_LEN
for round in $(seq "$ROUNDS"); do
  for run in "$FULL seq_len absolute $CHECKPOINT" "$FULL batch absolute $CHECKPOINT" \
             "$RETENTION batch $MODE $POWER_CHECKPOINT"; do
    set -- $run
    out="$OUTPUT_DIR/${1}_${2}_round$round"
    started=$EPOCHREALTIME
    python main.py --TASK "$TASK" --DATA_DIR "$DATA_DIR" --CHECKPOINT_PATH "$4" \
      --MODEL_FORMAT HDF5 --BATCH_SIZE "$BATCH" --PREDICT_ONLY --RETENTION_CONFIG "$1" \
      --PADDING "$2" --RETENTION_MODE "$3" --OUTPUT_DIR "$out" > /dev/null 2>&1
    process=$(awk "BEGIN { printf \"%.2f\", $EPOCHREALTIME - $started }")
    echo "$1 --PADDING $2 --RETENTION_MODE $3, round $round: $(grep Predicted "$out/log_file.txt");" \
      "process $process s"
  done
done
