"""Fast batch-1 inference: a compiled predictor per Keras backend, never `model.predict()`.

`make_predictor(model, backend)` returns a function from a float32 batch to the list of
output arrays (in the model's output order). Backends:

* `keras`: the model's forward pass compiled for the running Keras backend (a traced
  `tf.function` on TensorFlow, `jax.jit` on JAX, `torch.no_grad` inference on PyTorch);
* `litert`: the TensorFlow Lite / LiteRT interpreter with XNNPACK (TensorFlow backend
  only), usually the fastest on a CPU;
* `onnxruntime`: the model converted to ONNX and run by ONNX Runtime (optional
  dependencies, requirements-onnx.txt);
* `auto`: whichever of those available is fastest for this model on this machine (timed
  at load).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from follow_line.errors import FollowLineError
from follow_line.files import write_text_atomic

if TYPE_CHECKING:
    import keras
    from ai_edge_litert.interpreter import Interpreter

BACKENDS = ("auto", "keras", "litert", "onnxruntime")
DEVICES = ("auto", "cpu", "gpu")

Predictor = Callable[[np.ndarray], list[np.ndarray]]
log = logging.getLogger(__name__)


def keras_backend() -> str:
    """The Keras backend in use (tensorflow, jax or torch)."""
    import keras

    return keras.backend.backend()


def make_predictor(model: keras.Model, backend: str = "auto", device: str = "auto",
                   threads: int | None = None) -> tuple[Predictor, str]:
    """A compiled batch-1 predictor for `model` and the name of the backend chosen.

    `threads` bounds the LiteRT interpreter's threads (default: every core).
    """
    if backend not in BACKENDS:
        raise FollowLineError(f"unknown inference backend {backend!r}; known: "
                              f"{', '.join(BACKENDS)}")
    if device not in DEVICES:
        raise FollowLineError(f"unknown device {device!r}; known: {', '.join(DEVICES)}")
    if backend in CONVERTED and (device == "gpu" or keras_backend() != "tensorflow"):
        raise FollowLineError(f"the {backend} backend needs the TensorFlow Keras backend on a "
                              "CPU")
    if backend == "keras" or device == "gpu" or keras_backend() != "tensorflow":
        return _keras_predictor(model, device), "keras"
    if backend in CONVERTED:
        try:
            return CONVERTED[backend](model, threads), backend
        except NonFiniteOutputsError:
            raise
        except Exception as exc:  # noqa: BLE001 (conversion support differs per layer)
            raise FollowLineError(f"cannot convert {model.name} for {backend}: {exc}") from None
    candidates = {"keras": _keras_predictor(model, device)}
    for name, convert in CONVERTED.items():
        if name == "onnxruntime" and not onnx_ready():
            continue
        try:
            candidates[name] = convert(model, threads)
        except NonFiniteOutputsError:
            raise
        except Exception as exc:  # noqa: BLE001
            log.info("%s conversion of %s failed (%s)", name, model.name, exc)
    x = np.zeros((1, *model.inputs[0].shape[1:]), dtype=np.float32)
    times = {name: _median_ms(predict, x) for name, predict in candidates.items()}
    log.info("%s: %s", model.name, ", ".join(f"{n} {ms:.3f} ms" for n, ms in times.items()))
    fastest = min(times, key=lambda n: times[n])
    return candidates[fastest], fastest


def onnx_ready() -> bool:
    """Whether Keras models can be converted to ONNX and run (onnxruntime and tf2onnx)."""
    import importlib.util

    return all(importlib.util.find_spec(m) for m in ("onnxruntime", "tf2onnx", "onnx"))


def _onnx_predictor(model: keras.Model, threads: int | None) -> Predictor:
    from follow_line.driving.onnx_runtime import INSTALL, keras_to_onnx, session_runner

    if not onnx_ready():
        raise FollowLineError(f"onnx, onnxruntime and tf2onnx are not all installed; {INSTALL}")
    predict = session_runner(keras_to_onnx(model), model.name, list(model.output_names),
                             threads)
    _check_same_outputs(model, predict)
    return predict


def _median_ms(predict: Predictor, x: np.ndarray, runs: int = 15) -> float:
    """Median latency after a warm-up (auto picks the faster backend with it)."""
    for _ in range(3):
        predict(x)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        predict(x)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) * 1e3


def gpu_available() -> bool:
    """Whether the running Keras backend sees a GPU."""
    name = keras_backend()
    if name == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))
    if name == "jax":
        import jax

        return any(d.platform == "gpu" for d in jax.devices())
    if name == "torch":
        import torch

        return torch.cuda.is_available()
    return False


def _keras_predictor(model: keras.Model, device: str) -> Predictor:
    name = keras_backend()
    if device == "gpu" and not gpu_available():
        raise FollowLineError(f"device 'gpu' was asked for but the {name} backend sees no GPU;"
                              " use device 'auto' or 'cpu'")
    if name == "tensorflow":
        import tensorflow as tf

        spec = [tf.TensorSpec((1, *model.inputs[0].shape[1:]), tf.float32)]
        dev = "/CPU:0" if device == "cpu" else ("/GPU:0" if device == "gpu" else None)

        @tf.function(input_signature=spec, reduce_retracing=True)
        def forward(x: Any) -> Any:
            out = model(x, training=False)
            return out if isinstance(out, list | tuple) else [out]

        def predict(x: np.ndarray) -> list[np.ndarray]:
            with tf.device(dev) if dev else contextlib.nullcontext():
                return [t.numpy() for t in forward(x)]

        return predict
    if name == "jax":
        import jax

        params = (model.trainable_variables, model.non_trainable_variables)

        @jax.jit
        def jax_forward(trainable: Any, non_trainable: Any, x: Any) -> Any:
            out, _ = model.stateless_call(trainable, non_trainable, x, training=False)
            return out if isinstance(out, list | tuple) else [out]

        values = ([v.value for v in params[0]], [v.value for v in params[1]])
        return lambda x: [np.asarray(o) for o in jax_forward(*values, x)]
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


#: Converted models kept on disk: folder -> file suffix.
CONVERSIONS = {"litert": "tflite", "onnx": "onnx"}


def cache_root() -> Path:
    """Where converted models are kept ($FOLLOW_LINE_CACHE, else the user cache)."""
    return Path(os.environ.get("FOLLOW_LINE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "follow_line"))


def litert_cache_dir() -> Path:
    """Where converted LiteRT models are kept."""
    return cache_root() / "litert"


def cache_path(model: keras.Model, kind: str) -> Path:
    """Where the `kind` conversion (litert, onnx) of `model` is cached."""
    return cache_root() / kind / f"{model.name}-{_fingerprint(model)}.{CONVERSIONS[kind]}"


def _fingerprint(model: keras.Model) -> str:
    """Identity of a model's architecture and weights (and of the converter's version)."""
    import tensorflow as tf

    digest = hashlib.sha256(f"{tf.__version__}|{model.to_json()}".encode())
    for w in model.weights:
        digest.update(np.ascontiguousarray(w.numpy()).tobytes())
    return digest.hexdigest()[:32]


def _convert(model: keras.Model) -> bytes:
    """The model as a LiteRT flatbuffer, converted once and cached on disk."""
    import tempfile

    import tensorflow as tf

    cached = cache_path(model, "litert")
    if cached.is_file():
        return cached.read_bytes()
    with tempfile.TemporaryDirectory() as folder:
        spec = tf.TensorSpec((1, *model.inputs[0].shape[1:]), tf.float32)
        model.export(folder, format="tf_saved_model", verbose=False, input_signature=[spec])
        flatbuffer = tf.lite.TFLiteConverter.from_saved_model(folder).convert()
    try:
        write_text_atomic(cached, flatbuffer)
    except OSError as exc:  # a read-only cache only costs the conversion next time
        log.info("cannot cache the LiteRT model in %s: %s", cached.parent, exc)
    return flatbuffer


class NonFiniteOutputsError(FollowLineError):
    """The Keras network itself computes NaN or infinity: no conversion can fix that."""


def _litert_predictor(model: keras.Model, threads: int | None) -> Predictor:
    try:
        return _litert_runner(model, _convert(model), threads)
    except NonFiniteOutputsError:
        raise
    except Exception:
        cached = cache_path(model, "litert")
        if not cached.is_file():
            raise
        log.warning("damaged LiteRT cache entry %s: converting again", cached)
        cached.unlink()
        return _litert_runner(model, _convert(model), threads)


def _litert_runner(model: keras.Model, flatbuffer: bytes, threads: int | None) -> Predictor:
    interpreter = _interpreter(flatbuffer, threads or os.cpu_count() or 1)
    signature = interpreter.get_signature_list()["serving_default"]
    runner = interpreter.get_signature_runner("serving_default")
    input_name = signature["inputs"][0]
    # model.export names the outputs output_0, output_1, ... in the model's output order.
    names = sorted(signature["outputs"], key=lambda n: int(n.rsplit("_", 1)[-1]))

    def predict(x: np.ndarray) -> list[np.ndarray]:
        out = runner(**{input_name: x})
        return [out[n] for n in names]

    _check_same_outputs(model, predict)
    return predict


def _check_same_outputs(model: keras.Model, predict: Predictor) -> None:
    """Refuse a converted predictor that does not compute what the Keras model computes."""
    rng = np.random.default_rng(0)
    x = rng.random((1, *model.inputs[0].shape[1:]), dtype=np.float32)
    ref = model(x, training=False)
    ref = ref if isinstance(ref, list | tuple) else [ref]
    if not all(np.isfinite(np.asarray(r)).all() for r in ref):
        raise NonFiniteOutputsError(
            "the network's own (Keras) outputs are NaN or infinite on a test frame: its "
            "weights or layers are broken; train it again")
    got = predict(x)
    for r, g in zip(ref, got, strict=True):
        r = np.asarray(r)
        if r.shape != g.shape or not np.allclose(r, g, rtol=1e-3, atol=1e-4):
            raise FollowLineError("converted model's outputs differ from the Keras model's")


def _interpreter(flatbuffer: bytes, threads: int) -> Interpreter:
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter(model_content=flatbuffer, num_threads=threads)


#: The backends that run a converted model: name -> converter of a Keras model.
CONVERTED = {"litert": _litert_predictor, "onnxruntime": _onnx_predictor}
