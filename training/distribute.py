"""`--DISTRIBUTE`: TensorFlow's own distribution strategies for training and inference."""

import json
import os

import tensorflow as tf

from errors import UserError

def make_strategy(name):
    """The tf.distribute strategy for a `--DISTRIBUTE` value.

    Call it before anything else touches TensorFlow: MultiWorkerMirroredStrategy configures
    the collective ops, which TensorFlow allows only at start-up.

    Args:
        name: "none" (the default strategy: one device, the GPU if there is one),
            "mirrored" (all local GPUs; without any, the logical CPU devices configured
            with tf.config) or "multi_worker" (MultiWorkerMirroredStrategy over the workers
            that the environment variable TF_CONFIG describes). BATCH_SIZE stays the global
            batch: each of k devices gets 1/k.
    """
    if name == "none":
        return tf.distribute.get_strategy()
    if name == "multi_worker":
        _check_tf_config()
        return tf.distribute.MultiWorkerMirroredStrategy()
    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    return tf.distribute.MirroredStrategy([device.name for device in devices])


def _check_tf_config():
    """TF_CONFIG names a cluster of workers and this process's place in it."""
    how = ('set TF_CONFIG on every worker, e.g. {"cluster": {"worker": ["host1:12345", '
           '"host2:12345"]}, "task": {"type": "worker", "index": 0}}')
    if not os.environ.get("TF_CONFIG"):
        raise UserError("--DISTRIBUTE multi_worker needs the environment variable TF_CONFIG: "
                        + how)
    try:
        tf_config = json.loads(os.environ["TF_CONFIG"])
        cluster, task = tf_config["cluster"], tf_config["task"]
        addresses = cluster[task["type"]]
        if not 0 <= int(task["index"]) < len(addresses):
            raise IndexError(task["index"])
    except (ValueError, TypeError, KeyError, IndexError) as error:
        raise UserError(f"TF_CONFIG is not a valid cluster description ({type(error).__name__}: "
                        f"{error}): {how}") from None


def is_chief(strategy):
    """Whether this process writes the outputs: always, except on the non-chief workers.

    The chief is the task of type "chief", or worker 0 in a cluster without one (TensorFlow's
    convention).
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    if resolver.task_type == "chief":
        return True
    return (resolver.task_type == "worker" and resolver.task_id == 0
            and "chief" not in resolver.cluster_spec().as_dict())


def fit_under_any_strategy(model):
    """Lets `model.fit` run under MultiWorkerMirroredStrategy, around two Keras 3.15 faults.

    - Keras learns the input shapes for its symbolic build by `strategy.reduce("MEAN")` of
      the first distributed batch, which fails for a multi-worker batch ("Attempt to convert
      a value (PerReplica...) to a Tensor"). The shapes of one local replica's batch are all
      the build needs, so this model takes them from there.
    - Keras averages the logs of a training step with `strategy.reduce("MEAN", axis=0)`,
      which fails for the scalar loss ("Invalid reduction dimension 0"). This model's
      training step returns each log as a vector of one, which averages to the same scalar.
    """
    strategy = model.distribute_strategy
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return

    def symbolic_build_from_local_batch(iterator=None, data_batch=None):
        if iterator is not None:
            for _, _, batches in iterator:
                data_batch = tf.nest.map_structure(
                    lambda value: strategy.experimental_local_results(value)[0], next(batches))
                break
        with strategy.scope():
            model._symbolic_build(data_batch=data_batch)

    keras_train_step = model.train_step

    def train_step_with_vector_logs(data):
        return {name: tf.reshape(value, [1]) for name, value in keras_train_step(data).items()}

    model._maybe_symbolic_build = symbolic_build_from_local_batch
    model.train_step = train_step_with_vector_logs
