"""ONNX models: Keras networks converted to ONNX, and ONNX files run with ONNX Runtime.

An ONNX model drives like a Keras one, from its card (NAME.onnx beside NAME.json): the
card says the preprocessing, the frame buffer and the decoding as always, plus the input
`layout` (NHWC, Keras' order, or NCHW, PyTorch's) and, for a model made elsewhere, which
ONNX output holds which card output (`output_names`). onnx, onnxruntime and tf2onnx are
optional dependencies (requirements-onnx.txt); nothing else needs them.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from follow_line.driving.card import ModelCard
from follow_line.errors import FollowLineError
from follow_line.files import write_text_atomic
from follow_line.logs import native_stderr_silenced

if TYPE_CHECKING:
    import keras
    from onnxruntime import InferenceSession

    from follow_line.driving.inference import Predictor

OPSET = 17
QUANTIZATIONS = ("fp16", "int8")  # `export --quantize`: the forms of learning/export.py
INSTALL = "pip install -r requirements-onnx.txt"
log = logging.getLogger(__name__)


def onnxruntime_available() -> bool:
    """Whether ONNX Runtime can be imported."""
    import importlib.util

    return importlib.util.find_spec("onnxruntime") is not None


def network_layout_shape(card: ModelCard) -> tuple[int, ...]:
    """The input shape (no batch axis) the card implies, in the card's layout."""
    shape = card.expected_input_shape()
    if card.layout == "NCHW":
        return (*shape[:-3], shape[-1], shape[-3], shape[-2])
    return shape


def onnx_predictor(source: Path | bytes, card: ModelCard,
                   threads: int | None = None) -> tuple[Predictor, list[str]]:
    """(predictor, output names) for an ONNX model driving with `card`.

    The predictor takes the NHWC batch the frame buffer makes and returns the outputs in
    the order of the names (the card's). A model whose input or outputs do not match the
    card (values per frame included), whose weights are not all finite, or whose outputs on
    a test frame are not finite, is refused by name.
    """
    session = _session(source, card.name, threads)
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise FollowLineError(f"ONNX model {card.name} has {len(inputs)} inputs "
                              f"({', '.join(i.name for i in inputs)}); follow_line feeds one")
    _check_input(card, inputs[0])
    available = [o.name for o in session.get_outputs()]
    names = list(card.outputs)
    wanted = [card.output_names.get(name, name) for name in names]
    missing = [w for w in wanted if w not in available]
    if missing:
        raise FollowLineError(
            f"ONNX model {card.name} has no output {', '.join(map(repr, missing))}; its "
            f"outputs: {', '.join(available)}; map them in the card's output_names "
            "(follow-line card --output NAME=ONNX_OUTPUT)")
    specs = {o.name: o for o in session.get_outputs()}
    for name, onnx_name in zip(names, wanted, strict=True):
        _check_output(card, name, specs[onnx_name])
    _check_finite_initialisers(source, card.name)
    predict = _runner(session, wanted, card.layout == "NCHW")
    _check_test_inference(card, predict, names, wanted)
    return predict, names


def session_runner(source: Path | bytes, name: str, outputs: list[str],
                   threads: int | None = None) -> Predictor:
    """A predictor of the NHWC ONNX model `source` returning `outputs`, in that order."""
    return _runner(_session(source, name, threads), outputs, nchw=False)


def _session(source: Path | bytes, name: str, threads: int | None) -> InferenceSession:
    if not onnxruntime_available():
        raise FollowLineError(f"ONNX Runtime is not installed; {INSTALL}")
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    # Idle intra-op threads sleep instead of spinning: on a small machine shared with the
    # renderer (and other processes) spinning threads take the cores the work needs.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    where = source if isinstance(source, bytes) else str(source)
    try:
        with native_stderr_silenced():
            return ort.InferenceSession(where, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 (protobuf, graph and file errors alike)
        raise FollowLineError(f"cannot load the ONNX model {name}: "
                              f"{type(exc).__name__}: {exc}") from None


def _runner(session: InferenceSession, outputs: list[str], nchw: bool) -> Predictor:
    feed = session.get_inputs()[0].name

    def predict(x: np.ndarray) -> list[np.ndarray]:
        if nchw:
            x = np.ascontiguousarray(np.moveaxis(x, -1, -3))
        return session.run(outputs, {feed: x.astype(np.float32, copy=False)})

    return predict


def _check_input(card: ModelCard, spec: Any) -> None:
    """Refuse an input whose fixed sizes differ from the card's (symbolic sizes pass)."""
    expected = network_layout_shape(card)
    got = list(spec.shape)[1:]
    if spec.type != "tensor(float)":
        raise FollowLineError(f"ONNX model {card.name}: input {spec.name!r} is {spec.type}; "
                              "follow_line feeds float32 (tensor(float))")
    fixed = [g for g in got if isinstance(g, int)]
    if len(got) != len(expected) or any(isinstance(g, int) and g != e
                                        for g, e in zip(got, expected, strict=True)):
        other = "NCHW" if card.layout == "NHWC" else "NHWC"
        hint = ""
        if len(got) == len(expected) and sorted(fixed) == sorted(
                e for g, e in zip(got, expected, strict=True) if isinstance(g, int)):
            hint = f"; the same sizes in another order: is its layout {other}?"
        raise FollowLineError(
            f"ONNX model {card.name}: input {spec.name!r} has shape [batch, "
            f"{', '.join(map(str, got))}] but the card says {list(expected)} "
            f"(layout {card.layout}){hint}")


def _per_frame(card: ModelCard, name: str) -> str:
    units = card.output_units(name)
    return f"{units} value{'s' if units > 1 else ''} per frame ([batch, {units}])"


def _check_output(card: ModelCard, name: str, spec: Any) -> None:
    """Refuse an output whose fixed sizes hold another number of values per frame."""
    sizes = list(spec.shape)[1:]
    if all(isinstance(s, int) for s in sizes) and int(np.prod(sizes)) != card.output_units(name):
        raise FollowLineError(
            f"ONNX model {card.name}: output {spec.name!r} ({name}) has shape [batch, "
            f"{', '.join(map(str, sizes))}] but the card expects {_per_frame(card, name)}")


def _tensors(graph: Any) -> Iterator[Any]:
    """Every constant tensor of `graph` and its subgraphs: initialisers, Constant nodes."""
    yield from graph.initializer
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                yield attribute.t
            if attribute.HasField("g"):
                yield from _tensors(attribute.g)
            for subgraph in attribute.graphs:
                yield from _tensors(subgraph)


def _check_finite_initialisers(source: Path | bytes, name: str) -> None:
    """Refuse a model whose floating-point weights hold NaN or infinity, naming the first."""
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        raise FollowLineError(f"the onnx package checks an ONNX model's weights; {INSTALL}") \
            from None
    model = onnx.load_from_string(source) if isinstance(source, bytes) else onnx.load(source)
    for tensor in _tensors(model.graph):
        values = numpy_helper.to_array(tensor)
        if np.issubdtype(values.dtype, np.floating) and not np.isfinite(values).all():
            count = int(values.size - np.isfinite(values).sum())
            raise FollowLineError(f"ONNX model {name}: weights {tensor.name or '(unnamed)'!r} "
                                  f"hold {count} non-finite value(s) (NaN or infinity): the "
                                  "model cannot drive")


def _check_test_inference(card: ModelCard, predict: Predictor, names: list[str],
                          wanted: list[str]) -> None:
    """Refuse a model whose outputs on a test frame are not finite or not one per value."""
    x = np.random.default_rng(0).random((1, *card.expected_input_shape()), dtype=np.float32)
    for name, onnx_name, out in zip(names, wanted, predict(x), strict=True):
        out = np.asarray(out)
        if out.ndim == 0 or out.shape[0] != 1 or out.size != card.output_units(name):
            raise FollowLineError(
                f"ONNX model {card.name}: output {onnx_name!r} ({name}) is {list(out.shape)} "
                f"for a batch of 1 but the card expects {_per_frame(card, name)}")
        if not np.isfinite(out).all():
            raise FollowLineError(f"ONNX model {card.name}: output {onnx_name!r} ({name}) is "
                                  "NaN or infinite on a test frame: the model cannot drive")


def keras_to_onnx(model: keras.Model) -> bytes:
    """A Keras model as ONNX (tf2onnx through `model.export`), outputs named as in Keras.

    Converted once per architecture and weights, cached beside the LiteRT conversions.
    """
    from follow_line.driving.inference import cache_path

    cached = cache_path(model, "onnx")
    if cached.is_file():
        return cached.read_bytes()
    import onnx

    with tempfile.TemporaryDirectory() as folder, native_stderr_silenced():
        path = Path(folder) / "model.onnx"
        x = np.zeros((1, *model.inputs[0].shape[1:]), dtype=np.float32)
        model(x, training=False)  # export needs a model that has been called
        model.export(str(path), format="onnx", verbose=False, opset_version=OPSET)
        graph = onnx.load(str(path))
    for output, name in zip(list(graph.graph.output), model.output_names, strict=True):
        graph.graph.node.append(onnx.helper.make_node("Identity", [output.name], [name]))
        output.name = name
    data = graph.SerializeToString()
    try:
        write_text_atomic(cached, data)
    except OSError as exc:  # a read-only cache only costs the conversion next time
        log.info("cannot cache the ONNX model in %s: %s", cached.parent, exc)
    return data


def foreign_card(model: Path, image_mode: str = "cropped", size: tuple[int, int] = (66, 200),
                 layout: str = "NHWC", v_scale: float = 1.0, w_scale: float = 1.0,
                 colour: str = "rgb", normalisation: str = "unit",
                 constant_v: float | None = None, output_names: dict | None = None,
                 name: str | None = None) -> ModelCard:
    """The card of a regression ONNX model made elsewhere, checked against the model.

    The model reads one frame (cropped road or whole image, resized to `size`) and outputs
    v and w, which the card scales by `v_scale` and `w_scale` (1 when it outputs m/s and
    rad/s). `output_names` maps the card's v and w to the model's output names.
    """
    from follow_line.driving.card import EXTERNAL, FrameSpec
    from follow_line.driving.vision import Preprocessing

    outputs = {"w": {"scale": w_scale, "offset": 0.0}}
    if constant_v is None:
        outputs["v"] = {"scale": v_scale, "offset": 0.0}
    card = ModelCard(
        name=name or Path(model).stem, network=EXTERNAL, task="regression",
        preprocessing=Preprocessing(image_mode=image_mode, input_size=(int(size[0]), int(size[1])),
                                    colour=colour, normalisation=normalisation),
        frames=FrameSpec(), input_shape=(), outputs=outputs, constant_v=constant_v,
        description=f"ONNX model {Path(model).name} (made elsewhere)", layout=layout,
        output_names=dict(output_names or {}))
    card.input_shape = card.expected_input_shape()
    onnx_predictor(Path(model), card, threads=1)  # refuses a card that does not fit it
    return card
