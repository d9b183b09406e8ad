"""The optimizer: Adam with linear warm-up and linear decay, two learning rates, and Google
BERT's fine-tuning recipe (decoupled weight decay, gradient clipping)."""

import dataclasses
import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="power_bert")
class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """lr * t / warmup for the first `warmup_steps`, then lr * (1 - min(t, total) / total).

    Args:
        learning_rate: the peak rate.
        total_steps: all optimizer steps of the training step (epochs * batches per epoch).
        warmup_fraction: share of `total_steps` spent warming up (the original: 10%).
    """

    def __init__(self, learning_rate, total_steps, warmup_fraction=0.1):
        self.learning_rate = float(learning_rate)
        self.total_steps = int(total_steps)
        self.warmup_fraction = float(warmup_fraction)

    @property
    def warmup_steps(self):
        return max(1, math.ceil(self.total_steps * self.warmup_fraction))

    def __call__(self, step):
        t = ops.cast(step, "float32")
        warmup = self.learning_rate * t / self.warmup_steps
        decay = self.learning_rate * (1.0 - ops.minimum(t, self.total_steps) / self.total_steps)
        return ops.where(t < self.warmup_steps, warmup, decay)

    def get_config(self):
        return {"learning_rate": self.learning_rate, "total_steps": self.total_steps,
                "warmup_fraction": self.warmup_fraction}


@dataclasses.dataclass(frozen=True)
class AdamRecipe:
    """What Adam does besides following the learning rate.

    Args:
        weight_decay: decoupled weight decay (AdamW's), per step lr * weight_decay * w, on
            kernels and embeddings only: biases, LayerNorm and retention parameters (the
            one-dimensional weights) keep theirs, as Google BERT's and Hugging Face's exclude
            bias and LayerNorm.
        clip_norm: the gradients' global norm is clipped to this; None: not clipped.
        epsilon: Adam's epsilon, added to sqrt(v) after Keras's bias correction of the rate.
    """

    weight_decay: float
    clip_norm: float | None
    epsilon: float


# Google BERT's run_classifier (AdamWeightDecayOptimizer: weight decay 0.01, epsilon 1e-6,
# global norm clipped to 1.0), which Hugging Face's Trainer follows too. On MRPC with the
# embedded MiniLM, one paired seed on held-out training rows: 77.05 accuracy against plain
# Adam's 75.68 (benchmarks/results/mrpc_minilm_step1_recipe.md).
BERT_RECIPE = AdamRecipe(weight_decay=0.01, clip_norm=1.0, epsilon=1e-6)
# What this project trained with before: Keras Adam's defaults, no decay, no clipping.
PLAIN_ADAM = AdamRecipe(weight_decay=0.0, clip_norm=None, epsilon=1e-7)


@keras.saving.register_keras_serializable(package="power_bert")
class PowerBertAdam(keras.optimizers.Adam):
    """Adam (beta 0.9/0.999) with an `AdamRecipe` and its own rate for retention.

    The configuration search trains the Soft-Extract retention parameters at LR_SOFT_EXTRACT
    and every other weight at LR_BERT. Each weight's update is TensorFlow's fused Adam kernel,
    Keras's Adam in one pass (no amsgrad).

    Args:
        learning_rate: LR_BERT, or a schedule of it.
        retention_learning_rate: LR_SOFT_EXTRACT, or a schedule of it; None: as the others.
        retention_variables: the retention parameters (each Soft-Extract layer's `r`) that
            train at `retention_learning_rate`. They are not part of `get_config`: a restored
            optimizer trains every weight at `learning_rate` until given them again.
        recipe: the `AdamRecipe`; None: the keyword arguments alone (a restored optimizer's
            get_config holds the recipe's).
    """

    def __init__(self, learning_rate, retention_learning_rate=None, retention_variables=(),
                 recipe=None, **kwargs):
        if recipe is not None:
            kwargs.update(weight_decay=recipe.weight_decay or None,
                          global_clipnorm=recipe.clip_norm, epsilon=recipe.epsilon)
        super().__init__(learning_rate=learning_rate, beta_1=0.9, beta_2=0.999, **kwargs)
        if self.amsgrad:
            raise ValueError("PowerBertAdam's fused update is Adam's, without amsgrad")
        self.retention_learning_rate = retention_learning_rate
        self._retention_variables = list(retention_variables)

    def build(self, variables):
        # Keras decays every weight it is not told to spare; decay at LR_SOFT_EXTRACT's
        # rate would also pull the retention parameters towards 0 on top of their penalty.
        self.exclude_from_weight_decay(var_list=[v for v in variables if len(v.shape) < 2])
        super().build(variables)
        # update_step may see the backend's variable rather than the Keras one; the index
        # Keras's own update steps find their slots by is the same for both.
        self._retention_indices = {self._get_variable_index(v)
                                   for v in self._retention_variables}

    def _clip_gradients(self, grads):
        # Keras clips each replica's gradients before it sums them over the replicas, so under
        # a strategy the norm would be a replica's, not the batch's: clip the sum's norm
        # instead, scaling every replica's part alike, so that a distributed run trains the
        # weights one device trains.
        import tensorflow as tf

        context = tf.distribute.get_replica_context()
        if not self.global_clipnorm or context is None or context.num_replicas_in_sync == 1:
            return super()._clip_gradients(grads)
        present = [g for g in grads if g is not None]
        summed = context.all_reduce(tf.distribute.ReduceOp.SUM, present)
        norm = tf.linalg.global_norm(summed)
        scale = self.global_clipnorm / tf.maximum(norm, self.global_clipnorm)
        return [None if g is None else g * tf.cast(scale, g.dtype) for g in grads]

    def update_step(self, gradient, variable, learning_rate):
        import tensorflow as tf

        index = self._get_variable_index(variable)
        rate = self.retention_learning_rate
        if rate is not None and index in self._retention_indices:
            rate = rate(self.iterations) if callable(rate) else rate
            learning_rate = rate
        # Keras's Adam, in one fused kernel: its update writes m, v and the weight through
        # some ten whole-size temporaries, and the token embeddings are updated whole at every
        # step (benchmarks/results/fused_adam_step_time.md). The arithmetic is the same:
        # m += (g - m)(1 - beta_1), v += (g^2 - v)(1 - beta_2),
        # w -= lr sqrt(1 - beta_2^t) / (1 - beta_1^t) m / (sqrt(v) + epsilon).
        dtype = variable.dtype
        t = ops.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = ops.cast(self.beta_1, dtype), ops.cast(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=self._momentums[index].handle,
            v=self._velocities[index].handle, beta1_power=ops.power(beta_1, t),
            beta2_power=ops.power(beta_2, t), lr=ops.cast(learning_rate, dtype),
            beta1=beta_1, beta2=beta_2, epsilon=ops.cast(self.epsilon, dtype),
            grad=tf.convert_to_tensor(ops.cast(gradient, dtype)))

    def get_config(self):
        rate = self.retention_learning_rate
        if isinstance(rate, keras.optimizers.schedules.LearningRateSchedule):
            rate = keras.saving.serialize_keras_object(rate)
        return {**super().get_config(), "retention_learning_rate": rate}
