"""Training: a network from the registry on recorded episodes, saved with its card.

The card's preprocessing is applied once per frame; batches are composed on the fly (stacks,
differences, sequences within an episode, padded with the episode's first frame like the
frame buffer's warm-up), half of each batch flipped left-right with w negated. The
validation episodes are whole episodes never seen in training (split by episode, or by
circuit with `val_circuits`), so nothing leaks between the two.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from follow_line.driving.card import CARD_WORLD, W_CLASS_VALUES, ModelCard
from follow_line.errors import FollowLineError
from follow_line.files import shown_path
from follow_line.learning.augment import Photometric, augment_frames, check_preprocessing
from follow_line.learning.data import INDEX_FILE, read_dataset_index
from follow_line.learning.labels import mirror_w_class, targets, w_class

log = logging.getLogger(__name__)
# The seed's raw, class-weighted and resampled training, and weights between raw and biased.
BALANCES = ("imbalanced", "biased", "balanced", "tempered")
# Power of the class weights of each weighted balance (tempered: their square root).
CLASS_WEIGHT_POWERS = {"biased": 1.0, "tempered": 0.5}


@dataclass
class TrainConfig:
    """How to train one network."""

    network: str
    name: str | None = None
    image_mode: str = "cropped"
    constant_v: float | None = None
    balance: str = "imbalanced"
    epochs: int = 30
    batch_size: int = 64
    learning_rate: float = 1e-3
    patience: int = 5
    stride: int = 1  # train on every stride-th frame (neighbouring frames are near copies)
    resample: bool = False  # each epoch: a fresh random 1/stride of all frames, not the same
    val_fraction: float = 0.2
    val_circuits: tuple[str, ...] = ()
    flip: bool = True
    augment: bool = False  # random light, tone, colour, blur and noise per sample (augment.py)
    seed: int = 0
    options: dict = field(default_factory=dict)


def compose_inputs(frames: np.ndarray, index: np.ndarray, card: ModelCard,
                   change=None) -> np.ndarray:
    """Network inputs for frames `index` of one episode (warm-up pads with its first frame).

    `change(images, frame_number)`, if given, alters each gathered frame of the samples
    before they are composed (train-time augmentation).
    """
    mode, offsets = card.frames.mode, card.frames.offsets

    def gather(rows: np.ndarray, number: int) -> np.ndarray:
        return frames[rows] if change is None else change(frames[rows], number)

    now = gather(index, 0)
    if mode == "single":
        return now
    if mode in ("stack", "stack_diff"):
        before = gather(np.maximum(index + offsets[1], 0), 1)
        return np.concatenate([now, before if mode == "stack" else now - before], axis=-1)
    return np.stack([gather(np.maximum(index + o, 0), k)
                     for k, o in reversed(list(enumerate(offsets)))], axis=1)


def flip_inputs(x: np.ndarray) -> np.ndarray:
    """Left-right mirror of images (..., height, width, channels)."""
    return x[..., ::-1, :]


def flip_targets(y: dict[str, np.ndarray], card: ModelCard) -> dict[str, np.ndarray]:
    """Targets of mirrored images: w negated (regression around its offset), classes mirrored."""
    out = dict(y)
    if "w" in y:
        offset = card.outputs["w"].get("offset", 0.0) / card.outputs["w"]["scale"]
        out["w"] = 2 * offset - y["w"]
    if "w_class" in y:
        out["w_class"] = mirror_w_class(y["w_class"])
    return out


def split_episodes(episodes: list, val_fraction: float, val_circuits: tuple[str, ...],
                   seed: int) -> tuple[list[int], list[int]]:
    """Indices of training and validation episodes (whole episodes: no leak)."""
    n = len(episodes)
    if n < 2:
        raise FollowLineError("training needs at least two episodes (one for validation); "
                              f"got {n}")
    if val_circuits:
        val = [i for i, e in enumerate(episodes) if e.circuit in val_circuits]
        if not val or len(val) == n:
            known = sorted({str(e.circuit) for e in episodes})
            raise FollowLineError(f"validation circuits {list(val_circuits)} must hold some "
                                  f"but not all episodes; circuits in the data: {known}")
    else:
        order = np.random.default_rng(seed).permutation(n)
        val = sorted(order[:max(1, int(round(val_fraction * n)))].tolist())
    train = [i for i in range(n) if i not in set(val)]
    return train, val


def _keras_dataset_class():
    import keras

    class EpisodeBatches(keras.utils.PyDataset):
        """Batches composed on the fly from preprocessed episodes."""

        def __init__(self, episodes, card, items, batch_size, flip, shuffle, seed,
                     output_names, weights=None, photometric=None, per_epoch=None):
            """`per_epoch` items (default: all), drawn afresh from `items` each epoch."""
            super().__init__()
            self.photometric = photometric
            self.output_names = list(output_names)
            self.episodes, self.card, self.items = episodes, card, items
            self.batch_size, self.flip, self.shuffle = batch_size, flip, shuffle
            self.rng = np.random.default_rng(seed)
            self.weights = weights
            self.per_epoch = len(items) if per_epoch is None else per_epoch
            self.order = np.arange(len(items))
            self.start = len(items)  # where this epoch's items begin in `order`
            self.on_epoch_end()

        def __len__(self) -> int:
            return math.ceil(self.per_epoch / self.batch_size)

        def _change(self, n: int):
            if self.photometric is None:
                return None
            params = self.photometric.sample(self.rng, n)
            return lambda images, number: augment_frames(images, params,
                                                         self.card.preprocessing, number)

        def on_epoch_end(self) -> None:
            """Next epoch: the next `per_epoch` of the order; reshuffled once all are used."""
            self.start += self.per_epoch
            if self.start + self.per_epoch > len(self.items):
                self.start = 0
                if self.shuffle:
                    self.rng.shuffle(self.order)

        def _epoch_items(self, i: int) -> np.ndarray:
            begin = self.start + i * self.batch_size
            end = self.start + min((i + 1) * self.batch_size, self.per_epoch)
            return self.items[self.order[begin:end]]

        def __getitem__(self, i):
            chosen = self._epoch_items(i)
            xs, ys = [], []
            for e in np.unique(chosen[:, 0]):
                rows = chosen[chosen[:, 0] == e, 1]
                ep = self.episodes[e]
                xs.append(compose_inputs(ep.frames, rows, self.card, self._change(len(rows))))
                ys.append(targets(self.card, ep.v[rows], ep.w[rows]))
            x = np.concatenate(xs).astype(np.float32)
            y = {k: np.concatenate([t[k] for t in ys]) for k in ys[0]}
            if self.flip:
                mask = self.rng.random(len(x)) < 0.5
                x[mask] = flip_inputs(x[mask])
                flipped = flip_targets({k: v[mask] for k, v in y.items()}, self.card)
                for k in y:
                    y[k][mask] = flipped[k]
            # Keras matches targets and weights to the outputs by position: lists in output
            # order (tuples), bare arrays for a single output.
            ys = tuple(y[k] for k in self.output_names)
            ws = None
            if self.weights is not None:
                weights = self.weights(y)
                ws = tuple(weights[k] for k in self.output_names)
            if len(ys) == 1:
                return (x, ys[0]) if ws is None else (x, ys[0], ws[0])
            return (x, ys) if ws is None else (x, ys, ws)

    return EpisodeBatches


def class_weights(labels: np.ndarray, classes: int) -> np.ndarray:
    """Weights total / (classes present * count), the seed's "biased" training; absent: 0."""
    counts = np.bincount(labels, minlength=classes).astype(np.float64)
    present = counts > 0
    weights = np.zeros(classes)
    weights[present] = counts.sum() / (present.sum() * counts[present])
    return weights


def _class_weighting(card: ModelCard, items: np.ndarray, episodes: list, power: float = 1.0):
    """Sample weights of the seed's "biased" training: frames of rare w classes weigh more.

    Every output of a frame (w, v, w_class, v_class) is weighed by the frame's w class, so
    rare sharp turns count as much as the straights. Weighing a v classifier by its own
    class made it favour the rare slow classes (laps 56 % slower than the explicit driver's).
    `power` < 1 tempers the weights (``tempered``: their square root, rescaled so the
    training frames' mean weight stays 1). Returns a function of a batch's targets ->
    weights per output.
    """
    labels = w_class(item_labels(items, episodes, "w"))
    table = class_weights(labels, len(W_CLASS_VALUES)) ** power
    table /= table[labels].mean()

    def frame_classes(y: dict) -> np.ndarray:
        if "w_class" in y:
            return np.asarray(y["w_class"]).reshape(-1)
        return w_class(card.unscale("w", y["w"][:, 0]))

    def weigh(y: dict) -> dict:
        weights = table[frame_classes(y)].astype(np.float32)
        return {name: weights for name in y}

    return weigh


def item_labels(items: np.ndarray, episodes: list, field: str) -> np.ndarray:
    """The `field` ("v" or "w") label of each (episode, frame) item."""
    return np.array([getattr(episodes[e], field)[k] for e, k in items])


def balanced_items(items: np.ndarray, episodes: list, seed: int) -> np.ndarray:
    """Resample (with replacement) so every present w class is equally frequent."""
    labels = w_class(item_labels(items, episodes, "w"))
    rng = np.random.default_rng(seed)
    present = np.unique(labels)
    per_class = int(np.bincount(labels).max())
    picks = [rng.choice(np.flatnonzero(labels == c), per_class, replace=True) for c in present]
    return items[np.concatenate(picks)]


def train_network(config: TrainConfig, episodes: list, out: Path,
                  card: ModelCard | None = None, verbose: int | str = "auto",
                  dataset: str | None = None) -> ModelCard:
    """Train on preprocessed `episodes`; writes out/NAME.keras + NAME.json, returns the card.

    `dataset` (where the episodes were read from) is recorded in the card.
    """
    import keras

    from follow_line.driving.nets import build_network
    from follow_line.driving.zoo import default_card, save_model

    if config.balance not in BALANCES:
        raise FollowLineError(f"balance {config.balance!r} is not one of {', '.join(BALANCES)}")
    keras.utils.set_random_seed(config.seed)
    card = card or default_card(config.network, config.name, config.image_mode,
                                config.constant_v)
    check_dataset_world(dataset, card.world)
    card.architecture = dict(config.options)
    options = dict(config.options)
    if card.task == "regression" and card.constant_v is not None:
        card.outputs.pop("v", None)
        options["outputs"] = ("w",)
    model = build_network(config.network, card.preprocessing.frame_shape, **options)
    train_ids, val_ids = split_episodes(episodes, config.val_fraction, config.val_circuits,
                                        config.seed)
    if config.stride < 1:
        raise FollowLineError(f"stride must be >= 1, got {config.stride}")

    def frame_items(ids: list[int], stride: int) -> np.ndarray:
        return np.array([(e, k) for e in ids for k in range(0, len(episodes[e]), stride)])

    items = {"train": frame_items(train_ids, config.stride),
             "val": frame_items(val_ids, config.stride)}
    per_epoch = None  # all training items every epoch
    if config.resample:
        per_epoch = len(items["train"])
        items["train"] = frame_items(train_ids, 1)
    weights = None
    if config.balance == "balanced":
        items["train"] = balanced_items(items["train"], episodes, config.seed)
        if config.resample:
            per_epoch = len(items["train"]) // config.stride
    elif config.balance in CLASS_WEIGHT_POWERS:
        weights = _class_weighting(card, items["train"], episodes,
                                   CLASS_WEIGHT_POWERS[config.balance])
    batches = _keras_dataset_class()
    photometric = None
    if config.augment:
        check_preprocessing(card.preprocessing)
        photometric = Photometric()
    train_ds = batches(episodes, card, items["train"], config.batch_size, config.flip, True,
                       config.seed, model.output_names, weights, photometric, per_epoch)
    val_ds = batches(episodes, card, items["val"], config.batch_size, False, False, config.seed,
                     model.output_names)
    losses, metrics = {}, {}
    for name in model.output_names:
        if name in ("v", "w"):
            losses[name], metrics[name] = "mse", ["mae"]
        else:
            losses[name] = "sparse_categorical_crossentropy"
            metrics[name] = ["sparse_categorical_accuracy"]
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss=losses,
                  metrics=metrics)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    checkpoint = out / f".{card.name}.best.keras"
    started = time.perf_counter()
    history = model.fit(
        train_ds, validation_data=val_ds, epochs=config.epochs, verbose=verbose,
        callbacks=[keras.callbacks.EarlyStopping(patience=config.patience,
                                                 restore_best_weights=True),
                   keras.callbacks.ModelCheckpoint(checkpoint, save_best_only=True)])
    seconds = time.perf_counter() - started
    best = keras.saving.load_model(checkpoint, compile=False, safe_mode=True)
    checkpoint.unlink()
    card.training = {
        "dataset": dataset and shown_path(dataset),
        "dataset_appearance": _dataset_appearance(dataset),
        "episodes": [episodes[i].name for i in train_ids],
        "validation_episodes": [episodes[i].name for i in val_ids],
        "frames": int(train_ds.per_epoch), "validation_frames": int(len(items["val"])),
        "epochs_run": len(history.history["loss"]), "seconds": round(seconds, 1),
        "best_val_loss": float(min(history.history["val_loss"])), "balance": config.balance,
        "flip": config.flip, "batch_size": config.batch_size, "stride": config.stride,
        "resample": config.resample,
        "augmentation": photometric.to_dict() if photometric else None,
        "patience": config.patience,
        "learning_rate": config.learning_rate, "seed": config.seed,
        "keras_backend": keras.backend.backend(),
    }
    save_model(best, card, out)
    return card


def check_dataset_world(dataset: str | Path | None, world: str) -> None:
    """Refuse to train a network for `world` on a dataset recorded in another world.

    A dataset's index names its world (a dataset without one was recorded in the wide world,
    `card.CARD_WORLD`); a data.csv folder has no index and is taken as it is.
    """
    if dataset is None or not (Path(dataset) / INDEX_FILE).is_file():
        return
    recorded = read_dataset_index(Path(dataset)).get("world", CARD_WORLD)
    if recorded != world:
        raise FollowLineError(f"dataset {shown_path(dataset)} was recorded in the {recorded} "
                              f"world; a network for the {world} world trains on that world's "
                              f"data: pass --world {recorded} or another dataset")


def _dataset_appearance(dataset: str | None) -> dict | None:
    """How the world of a recorded dataset looked (its index's `appearance`), if known."""
    if dataset is None or not (Path(dataset) / INDEX_FILE).is_file():
        return None
    return read_dataset_index(Path(dataset)).get("appearance", {"nominal": True})
