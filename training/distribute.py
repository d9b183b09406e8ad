"""`--DISTRIBUTE`: TensorFlow's own distribution strategies for training and inference."""

import tensorflow as tf

CHOICES = ("none", "mirrored")


def make_strategy(name):
    """The tf.distribute strategy for a `--DISTRIBUTE` value.

    Args:
        name: "none" (the default strategy: one device, the GPU if there is one) or
            "mirrored" (all local GPUs; without any, the logical CPU devices configured
            with tf.config). BATCH_SIZE stays the global batch: each of k devices gets 1/k.
    """
    if name == "none":
        return tf.distribute.get_strategy()
    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    return tf.distribute.MirroredStrategy([device.name for device in devices])
