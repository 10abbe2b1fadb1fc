"""Fast batch-1 inference: a compiled predictor per Keras backend, never `model.predict()`.

`make_predictor(model, backend)` returns a function from a float32 batch to the list of
output arrays (in the model's output order). Backends:

* `keras`: the model's forward pass compiled for the running Keras backend (a traced
  `tf.function` on TensorFlow, `jax.jit` on JAX, `torch.no_grad` inference on PyTorch);
* `litert`: the TensorFlow Lite / LiteRT interpreter with XNNPACK (TensorFlow backend
  only), usually the fastest on a CPU;
* `auto`: `litert` where it works for the model, else `keras`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

import numpy as np

from follow_line.errors import FollowLineError

BACKENDS = ("auto", "keras", "litert")
DEVICES = ("auto", "cpu", "gpu")

Predictor = Callable[[np.ndarray], list[np.ndarray]]
log = logging.getLogger(__name__)


def keras_backend() -> str:
    """The Keras backend in use (tensorflow, jax or torch)."""
    import keras

    return keras.backend.backend()


def make_predictor(model, backend: str = "auto", device: str = "auto",
                   threads: int | None = None) -> tuple[Predictor, str]:
    """A compiled batch-1 predictor for `model` and the name of the backend chosen."""
    if backend not in BACKENDS:
        raise FollowLineError(f"unknown inference backend {backend!r}; known: "
                              f"{', '.join(BACKENDS)}")
    if device not in DEVICES:
        raise FollowLineError(f"unknown device {device!r}; known: {', '.join(DEVICES)}")
    if backend in ("auto", "litert") and device != "gpu" and keras_backend() == "tensorflow":
        try:
            return _litert_predictor(model, threads), "litert"
        except Exception as exc:  # noqa: BLE001 (conversion support differs per layer)
            if backend == "litert":
                raise FollowLineError(f"cannot convert {model.name} for LiteRT: {exc}") \
                    from None
            log.info("LiteRT conversion of %s failed (%s); using the keras backend",
                     model.name, exc)
    elif backend == "litert":
        raise FollowLineError("the litert backend needs the TensorFlow Keras backend on a CPU")
    return _keras_predictor(model, device), "keras"


def _keras_predictor(model, device: str) -> Predictor:
    name = keras_backend()
    if name == "tensorflow":
        import tensorflow as tf

        spec = [tf.TensorSpec((1, *model.inputs[0].shape[1:]), tf.float32)]
        dev = "/CPU:0" if device == "cpu" else ("/GPU:0" if device == "gpu" else None)

        @tf.function(input_signature=spec, reduce_retracing=True)
        def forward(x):
            out = model(x, training=False)
            return out if isinstance(out, list | tuple) else [out]

        def predict(x: np.ndarray) -> list[np.ndarray]:
            if dev:
                with tf.device(dev):
                    return [t.numpy() for t in forward(x)]
            return [t.numpy() for t in forward(x)]

        return predict
    if name == "jax":
        import jax

        params = (model.trainable_variables, model.non_trainable_variables)

        @jax.jit
        def forward(trainable, non_trainable, x):
            out, _ = model.stateless_call(trainable, non_trainable, x, training=False)
            return out if isinstance(out, list | tuple) else [out]

        values = ([v.value for v in params[0]], [v.value for v in params[1]])
        return lambda x: [np.asarray(o) for o in forward(*values, x)]
    if name == "torch":
        import torch

        target = "cuda" if device != "cpu" and torch.cuda.is_available() else "cpu"
        model.eval()

        def predict(x: np.ndarray) -> list[np.ndarray]:
            with torch.no_grad():
                out = model(torch.from_numpy(x).to(target), training=False)
            out = out if isinstance(out, list | tuple) else [out]
            return [o.detach().cpu().numpy() for o in out]

        return predict
    raise FollowLineError(f"unsupported Keras backend {name!r}")


def _litert_predictor(model, threads: int | None) -> Predictor:
    import tensorflow as tf

    spec = [tf.TensorSpec((1, *model.inputs[0].shape[1:]), tf.float32)]
    forward = tf.function(lambda x: model(x, training=False), input_signature=spec)
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [forward.get_concrete_function()], model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS,
                                           tf.lite.OpsSet.SELECT_TF_OPS]
    flatbuffer = converter.convert()
    interpreter = _interpreter(flatbuffer, threads or 1)
    interpreter.allocate_tensors()
    inp = interpreter.get_input_details()[0]["index"]
    by_name = {d["name"]: d["index"] for d in interpreter.get_output_details()}
    outputs = _output_order(model, by_name)

    def predict(x: np.ndarray) -> list[np.ndarray]:
        interpreter.set_tensor(inp, x)
        interpreter.invoke()
        return [interpreter.get_tensor(i).copy() for i in outputs]

    return predict


def _interpreter(flatbuffer: bytes, threads: int):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import warnings

        import tensorflow as tf

        warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated.*")
        Interpreter = tf.lite.Interpreter  # noqa: N806
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return Interpreter(model_content=flatbuffer, num_threads=threads)


def _output_order(model, by_name: dict[str, int]) -> list[int]:
    """Interpreter output indices in the Keras model's output order."""
    names = list(model.output_names)
    ordered = []
    for i, name in enumerate(names):
        match = [idx for key, idx in by_name.items() if key.endswith(name) or name in key]
        ordered.append(match[0] if len(match) == 1 else sorted(by_name.values())[i])
    return ordered
