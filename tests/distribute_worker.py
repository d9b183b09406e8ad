"""Subprocess of tests/test_distribute.py: TensorFlow fixes its devices when it starts, so a
run over two logical CPU devices needs a process of its own.

    python -m tests.distribute_worker OUT_DIR   # fine-tune on one device, then mirrored,
                                                # then mirrored, stopped after its first
                                                # epoch and resumed from its epoch state;
                                                # predict on one device, then mirrored
"""

import dataclasses
import os
import sys

import numpy as np
import tensorflow as tf


def fine_tune_both_ways(out_dir):
    """Step 1 of a tiny BERT from the same weights: on one device, and mirrored over two."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    from checkpoints.hdf5 import write_hdf5_weights
    from data.features import Features
    from data.tasks import TASKS
    from modeling.bert import build_model
    from scoring.evaluation import predict
    from tests.helpers import CONFIGS, SEQ_LEN, random_inputs
    from training import step_inputs, steps
    from training.distribute import make_strategy
    from training.epoch_state import EpochState
    from training.fit import BestEpoch

    config = CONFIGS["bert"]  # no dropout: both runs compute the same function
    task = dataclasses.replace(TASKS["sst-2"], seq_len=SEQ_LEN)
    tokens, segments, mask = random_inputs(config, batch=32, seed=5)
    labels = (tokens[:, 1] % 2).astype("int32")
    data = step_inputs.TaskData(Features(tokens, segments, mask), labels,
                          Features(tokens, segments, mask), labels)
    hp = step_inputs.Hyperparameters(epochs=2, batch_size=8, lr_bert=1e-3, lr_soft_extract=0.0,
                               lambda_=0.0)
    start = build_model(config, SEQ_LEN, 2)
    write_hdf5_weights(os.path.join(out_dir, "initial.hdf5"), start)
    initial = start.get_weights()

    def load_initial(model):
        model.set_weights(initial)

    strategy = make_strategy("mirrored")
    assert strategy.num_replicas_in_sync == 2, strategy.extended.worker_devices
    save_best = BestEpoch.save

    def save_last_too(self, path, metadata):  # the last epoch's weights, beside the best's
        np.savez(os.path.join(os.path.dirname(path), "last.npz"), *self.model.get_weights())
        return save_best(self, path, metadata)

    BestEpoch.save = save_last_too
    for name, run_strategy in (("single", None), ("mirrored", strategy)):
        run_dir = os.path.join(out_dir, name)
        os.makedirs(run_dir)
        steps.fine_tune(step_inputs.StepContext(config, task, data, hp, run_dir, print,
                                                run_strategy), load_initial)
    resumed = step_inputs.StepContext(config, task, data, hp,
                                      os.path.join(out_dir, "mirrored_resumed"), print, strategy)
    os.makedirs(resumed.output_dir)
    write_state = EpochState.on_epoch_end

    def stop_after_first_epoch(self, epoch, logs=None):
        write_state(self, epoch, logs)
        raise KeyboardInterrupt

    EpochState.on_epoch_end = stop_after_first_epoch
    try:
        steps.fine_tune(resumed, load_initial)
    except KeyboardInterrupt:
        pass
    EpochState.on_epoch_end = write_state
    assert not os.path.exists(resumed.path(steps.FINETUNE))
    steps.fine_tune(resumed, load_initial)

    # 32 rows in batches of 7: the last batch is padded, and 7 rows split 4 + 3 (padded to 4).
    single_model = build_model(config, SEQ_LEN, 2)
    with strategy.scope():
        mirrored_model = build_model(config, SEQ_LEN, 2)
    for name, model in (("single", single_model), ("mirrored", mirrored_model)):
        model.set_weights(initial)
        np.save(os.path.join(out_dir, name, "predictions.npy"), predict(model, data.dev, 7, "batch"))


if __name__ == "__main__":
    fine_tune_both_ways(sys.argv[1])
