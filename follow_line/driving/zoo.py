"""Shipped networks: the models/ folder, default cards, saving and loading pilots."""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from follow_line.driving.card import V_CLASS_VALUES, W_CLASS_VALUES, FrameSpec, ModelCard
from follow_line.driving.vision import Preprocessing
from follow_line.errors import FollowLineError
from follow_line.files import package_folder
from follow_line.world.worlds import get_world

if TYPE_CHECKING:
    import keras

    from follow_line.driving.pilot import Pilot

log = logging.getLogger(__name__)
#: Files that name a trained network: its Keras weights, an ONNX model, or its card.
MODEL_SUFFIXES = (".keras", ".onnx", ".json")

# Regression targets are divided by these scales for training (v up to ~13 m/s, |w| up to ~3).
DEFAULT_V_SCALE = 13.0
DEFAULT_W_SCALE = 3.0
DEFAULT_CONSTANT_V = 8.0


def models_dir(world: str | None = None) -> Path:
    """Where a world's trained networks live (world/worlds.py: models/ for wide).

    The world's folder under $FOLLOW_LINE_MODELS, the source tree's or the ROS share's models/.
    """
    env = os.environ.get("FOLLOW_LINE_MODELS")
    base = Path(env) if env else package_folder("models")
    return base / get_world(world).models


def shipped_models(folder: Path | None = None) -> list[str]:
    """Names of the trained networks in `folder` (a NAME.keras with its NAME.json)."""
    folder = folder or models_dir()
    return sorted(p.stem for p in folder.glob("*.keras") if p.with_suffix(".json").exists())


def default_card(network: str, name: str | None = None, image_mode: str = "cropped",
                 constant_v: float | None = None, world: str | None = None) -> ModelCard:
    """The card of a freshly built network for `world`: registry defaults, seed class tables."""
    from follow_line.driving.nets import network_info

    info = network_info(network)
    h, w, c = info.input_shape
    pre = Preprocessing(image_mode=image_mode, input_size=(h, w),
                        colour="rgb" if c == 3 else "gray")
    outputs: dict[str, dict]
    if info.task == "regression":
        outputs = {"v": {"scale": DEFAULT_V_SCALE, "offset": 0.0},
                   "w": {"scale": DEFAULT_W_SCALE, "offset": 0.0}}
        outputs = {k: v for k, v in outputs.items() if k in info.outputs}
    else:
        outputs = {"w_class": {"values": list(W_CLASS_VALUES)}}
        if "v_class" in info.outputs:
            outputs["v_class"] = {"values": list(V_CLASS_VALUES)}
        elif constant_v is None:
            constant_v = DEFAULT_CONSTANT_V
    card = ModelCard(name=name or network, network=network, task=info.task,
                     preprocessing=pre, frames=FrameSpec(info.frames, tuple(info.offsets)),
                     input_shape=(), outputs=outputs, constant_v=constant_v,
                     description=info.description, world=get_world(world).name)
    card.input_shape = card.expected_input_shape()
    return card


def build_untrained(network: str,
                    card: ModelCard | None = None) -> tuple[keras.Model, ModelCard]:
    """A freshly built network (random weights) and its card."""
    from follow_line.driving.nets import build_network

    card = card or default_card(network)
    model = build_network(network, card.preprocessing.frame_shape)
    return model, card


def save_model(model: keras.Model, card: ModelCard, folder: Path) -> Path:
    """Write NAME.keras and NAME.json into `folder`; returns the .keras path."""
    check_finite_weights(model, f"network {card.name}")
    from follow_line.driving.pilot import check_model_matches_card

    check_model_matches_card(model, card)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{card.name}.keras"
    tmp = folder / f".{card.name}.tmp.keras"
    model.save(tmp)
    os.replace(tmp, path)
    card.save(path.with_suffix(".json"))
    return path


def has_weights(name_or_path: str | Path, folder: Path | None = None) -> bool:
    """Whether the name is a model file path or a network shipped in `folder`."""
    text = str(name_or_path)
    return Path(text).suffix in MODEL_SUFFIXES or text in shipped_models(folder)


def network_files(name_or_path: str | Path, folder: Path | None) -> tuple[Path, Path]:
    """NAME.keras (or NAME.onnx) and NAME.json of a shipped name or a path, checked to exist.

    A NAME.json path stands for NAME.keras, or NAME.onnx if only that exists.
    """
    text = str(name_or_path)
    path = Path(text)
    folder = folder or models_dir()
    if path.suffix in MODEL_SUFFIXES:
        weights, card_path = path, path.with_suffix(".json")
        if path.suffix == ".json":
            onnx = path.with_suffix(".onnx")
            weights = onnx if onnx.exists() and not path.with_suffix(".keras").exists() \
                else path.with_suffix(".keras")
    elif (folder / f"{text}.keras").exists():
        weights, card_path = folder / f"{text}.keras", folder / f"{text}.json"
    else:
        raise FollowLineError(f"no trained network {text!r} in {folder}; shipped: "
                              f"{', '.join(shipped_models(folder)) or 'none'}")
    for p in (weights, card_path):
        if not p.exists():
            raise FollowLineError(f"{p} does not exist (a network is NAME.keras or NAME.onnx, "
                                  "and its card NAME.json)")
    return weights, card_path


def weights_digest(name_or_path: str | Path, folder: Path | None = None) -> str:
    """SHA-256 of a trained network's weights file (first 16 hex digits)."""
    weights, _ = network_files(name_or_path, folder)
    return hashlib.sha256(weights.read_bytes()).hexdigest()[:16]


def load_card(name_or_path: str | Path, folder: Path | None = None) -> ModelCard:
    """The card of a shipped name or a NAME.keras / NAME.json path."""
    return ModelCard.load(network_files(name_or_path, folder)[1])


def check_weights_file(path: Path) -> None:
    """Refuse what cannot be a .keras file (a folder, an empty or truncated zip) by name."""
    import zipfile

    path = Path(path)
    if path.is_dir():
        raise FollowLineError(f"{path} is a folder, not a .keras weights file")
    size = path.stat().st_size
    if size == 0:
        raise FollowLineError(f"{path} is empty (0 bytes), not a .keras weights file")
    if not zipfile.is_zipfile(path):
        raise FollowLineError(f"{path} ({size} bytes) is not a .keras file (a zip archive): "
                              "truncated or damaged; save or copy it again")


def load_model(name_or_path: str | Path,
               folder: Path | None = None) -> tuple[keras.Model, ModelCard]:
    """(keras model, card) of a shipped name or a NAME.keras / NAME.json path (safe mode)."""
    import keras

    weights, card_path = network_files(name_or_path, folder)
    card = ModelCard.load(card_path)
    if weights.suffix == ".onnx":
        raise FollowLineError(f"{weights} is an ONNX model, not Keras weights: it drives "
                              "(drive, bench, the drive node) but does not train or export")
    check_weights_file(weights)
    try:
        model = keras.saving.load_model(weights, compile=False, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 (corrupt zip, bad config, unsafe lambda...)
        raise FollowLineError(f"cannot load the weights {weights}: {type(exc).__name__}: "
                              f"{exc}") from None
    check_finite_weights(model, weights)
    check_network_matches_card(model, card, weights)
    return model, card


def builder_options(card: ModelCard) -> dict:
    """The registry builder's options for the card's network (its `architecture`).

    A regression with a constant v has the w output only.
    """
    options = dict(card.architecture)
    if card.task == "regression" and card.constant_v is not None:
        options["outputs"] = ("w",)
    return options


def layer_signature(model: keras.Model) -> list[tuple[str, tuple]]:
    """Each layer's class and weight shapes: what makes a network that network."""
    return [(type(layer).__name__, tuple(tuple(w.shape) for w in layer.weights))
            for layer in model.layers]


def check_network_matches_card(model: keras.Model, card: ModelCard, source: object) -> None:
    """Refuse weights of another network than the card's `network` (layer by layer).

    Compared with the registry's network built as the card says (frame shape, builder
    options): the same layers with the same weight shapes, in the same order.
    """
    from follow_line.driving.nets import build_network, known_networks

    if card.network not in known_networks():
        return  # a model made elsewhere: its input and outputs are checked by the Pilot
    mine = layer_signature(model)
    try:
        want = layer_signature(build_network(card.network, card.preprocessing.frame_shape,
                                             **builder_options(card)))
    except FollowLineError:  # the card's network cannot even take the card's frames
        want = None
    if mine == want:
        return
    what = f"a {model.name}" if model.name in known_networks() else "another network"
    raise FollowLineError(f"{source}: the card says network {card.network!r} but the weights "
                          f"are {what} ({_first_difference(mine, want, card)}); give the "
                          "weights their own card")


def _first_difference(mine: list, want: list | None, card: ModelCard) -> str:
    """Where two layer signatures part, in words."""
    if want is None:
        return (f"a {card.network} cannot take the card's frames "
                f"{list(card.preprocessing.frame_shape)}")
    i = next((k for k, (a, b) in enumerate(zip(mine, want, strict=False)) if a != b),
             min(len(mine), len(want)))
    found = f"{mine[i][0]} {list(mine[i][1])}" if i < len(mine) else "nothing"
    expected = f"{want[i][0]} {list(want[i][1])}" if i < len(want) else "nothing"
    return f"layer {i}: {found}, where a {card.network} has {expected}"


def check_finite_weights(model: keras.Model, source: object) -> None:
    """Refuse a network with NaN or infinite weights, naming the first such variable."""
    import numpy as np

    for variable in model.weights:
        values = np.asarray(variable)
        if not np.isfinite(values).all():
            count = int(values.size - np.isfinite(values).sum())
            raise FollowLineError(f"{source}: weights {variable.path} hold {count} non-finite "
                                  "value(s) (NaN or infinity): the network cannot drive; "
                                  "train it again")


def load_pilot(name_or_path: str | Path, backend: str = "auto", device: str = "auto",
               threads: int | None = None, folder: Path | None = None,
               world: str | None = None) -> Pilot:
    """A Pilot for `world` (None: the default), refused if trained for another world.

    A shipped network of the world's folder (or `folder`), a model file, or (untrained) a
    registry name.
    """
    from follow_line.driving.nets import known_networks
    from follow_line.driving.pilot import Pilot

    folder = folder or models_dir(world)
    text = str(name_or_path)
    if has_weights(text, folder):
        weights, card_path = network_files(text, folder)
        ModelCard.load(card_path).check_world(world)
        if weights.suffix == ".onnx":
            pilot = Pilot(ModelCard.load(card_path), weights, backend=backend, device=device,
                          threads=threads)
        else:
            model, card = load_model(text, folder)
            pilot = Pilot(card, model, backend=backend, device=device, threads=threads)
        pilot.weights = weights_digest(weights)  # recorded with every run it drives
        return pilot
    elif text in known_networks():
        log.warning("no trained weights for %s in %s: driving a freshly built, untrained "
                    "network", text, folder)
        model, card = build_untrained(text, default_card(text, world=world))
    else:
        raise FollowLineError(f"unknown model {text!r}; shipped: "
                              f"{', '.join(shipped_models(folder)) or 'none'}; networks: "
                              f"{', '.join(known_networks())}")
    return Pilot(card, model, backend=backend, device=device, threads=threads)
