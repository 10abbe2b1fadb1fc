"""Training: a network from the registry on recorded episodes, saved with its card.

The card's preprocessing is applied once per frame; batches are composed on the fly (stacks,
differences, sequences within an episode, padded with the episode's first frame like the
frame buffer's warm-up), half of each batch flipped left-right with w negated. The
validation episodes are whole episodes never seen in training (split by episode, or by
circuit with `val_circuits`), so nothing leaks between the two.

`train_network` runs the steps in order: check the configuration, select the items (strided,
resampled or class-balanced frames of the split's episodes, `select_items`), weigh them
(`frame_weights`, balance.py), compose the batches (`batch_sequences`, batches.py), build the
losses (`losses_and_metrics`), fit keeping the best model (`fit_best`) and record the
training in the card (`training_record`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from follow_line.driving.card import CARD_WORLD, ModelCard
from follow_line.errors import FollowLineError
from follow_line.files import shown_path
from follow_line.learning.augment import Photometric, check_preprocessing
from follow_line.learning.balance import (
    BALANCES,
    CLASS_WEIGHT_POWERS,
    Weigh,
    balanced_items,
    class_weighting,
)
from follow_line.learning.data import INDEX_FILE, Episode, read_dataset_index

if TYPE_CHECKING:
    import keras

    from follow_line.learning.batches import EpisodeBatches


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


def split_episodes(episodes: Sequence[Episode], val_fraction: float, val_circuits: tuple[str, ...],
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


def check_config(config: TrainConfig) -> None:
    """Refuse a balance or stride a training cannot have, naming the allowed values."""
    if config.balance not in BALANCES:
        raise FollowLineError(f"balance {config.balance!r} is not one of {', '.join(BALANCES)}")
    if config.stride < 1:
        raise FollowLineError(f"stride must be >= 1, got {config.stride}")


def network_card(config: TrainConfig, card: ModelCard | None) -> tuple[ModelCard, dict]:
    """The card to train (given, or the network's default) and the builder's options.

    A regression network with a constant v loses its v head.
    """
    from follow_line.driving.zoo import builder_options, default_card

    card = card or default_card(config.network, config.name, config.image_mode,
                                config.constant_v)
    card.architecture = dict(config.options)
    if card.task == "regression" and card.constant_v is not None:
        card.outputs.pop("v", None)
    return card, builder_options(card)


@dataclass(frozen=True)
class ItemSelection:
    """The (episode, frame) items a training fits and validates on."""

    train_ids: list[int]  # training episodes
    val_ids: list[int]  # validation episodes
    train: np.ndarray  # (N, 2) training items
    val: np.ndarray  # (M, 2) validation items
    per_epoch: int | None  # training items drawn each epoch (None: all of `train`)


def select_items(config: TrainConfig, episodes: Sequence[Episode]) -> ItemSelection:
    """Every stride-th frame of the split's episodes; resampled or class-balanced if asked.

    With `resample` the training draws a fresh 1/stride of all its frames each epoch; with
    the "balanced" balance the training items are resampled to equal w class frequencies.
    """
    train_ids, val_ids = split_episodes(episodes, config.val_fraction, config.val_circuits,
                                        config.seed)

    def frame_items(ids: list[int], stride: int) -> np.ndarray:
        return np.array([(e, k) for e in ids for k in range(0, len(episodes[e]), stride)])

    train = frame_items(train_ids, config.stride)
    per_epoch = None  # all training items every epoch
    if config.resample:
        per_epoch = len(train)
        train = frame_items(train_ids, 1)
    if config.balance == "balanced":
        train = balanced_items(train, episodes, config.seed)
        if config.resample:
            per_epoch = len(train) // config.stride
    return ItemSelection(train_ids, val_ids, train, frame_items(val_ids, config.stride),
                         per_epoch)


def frame_weights(config: TrainConfig, card: ModelCard, selection: ItemSelection,
                  episodes: Sequence[Episode]) -> Weigh | None:
    """The sample weights of a class-weighted balance ("biased", "tempered"), else None."""
    if config.balance not in CLASS_WEIGHT_POWERS:
        return None
    return class_weighting(card, selection.train, episodes,
                           CLASS_WEIGHT_POWERS[config.balance])


def batch_sequences(config: TrainConfig, card: ModelCard, episodes: Sequence[Episode],
                    selection: ItemSelection,
                    output_names: Sequence[str]) -> tuple[EpisodeBatches, EpisodeBatches]:
    """Training batches (shuffled, flipped, weighed, augmented as configured) and validation ones.

    Validation batches are the recorded frames: not shuffled, flipped or changed.
    """
    from follow_line.learning.batches import EpisodeBatches

    weights = frame_weights(config, card, selection, episodes)
    photometric = None
    if config.augment:
        check_preprocessing(card.preprocessing)
        photometric = Photometric()
    train = EpisodeBatches(episodes, card, selection.train, batch_size=config.batch_size,
                           output_names=output_names, flip=config.flip, shuffle=True,
                           seed=config.seed, weights=weights, photometric=photometric,
                           per_epoch=selection.per_epoch)
    val = EpisodeBatches(episodes, card, selection.val, batch_size=config.batch_size,
                         output_names=output_names, seed=config.seed)
    return train, val


def losses_and_metrics(output_names: Sequence[str]) -> tuple[dict[str, str],
                                                             dict[str, list[str]]]:
    """Keras losses and metrics by output name.

    Mean squared error for v and w, cross-entropy for the classes.
    """
    losses, metrics = {}, {}
    for name in output_names:
        if name in ("v", "w"):
            losses[name], metrics[name] = "mse", ["mae"]
        else:
            losses[name] = "sparse_categorical_crossentropy"
            metrics[name] = ["sparse_categorical_accuracy"]
    return losses, metrics


def fit_best(model: keras.Model, train: EpisodeBatches, val: EpisodeBatches,
             config: TrainConfig, checkpoint: Path,
             verbose: int | str) -> tuple[keras.Model, dict[str, list[float]], float]:
    """Fit until the validation loss stops improving: the best model, history and seconds.

    The best model (by validation loss) is kept in `checkpoint` while fitting.
    """
    import keras

    losses, metrics = losses_and_metrics(model.output_names)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss=losses,
                  metrics=metrics)
    started = time.perf_counter()
    history = model.fit(
        train, validation_data=val, epochs=config.epochs, verbose=verbose,
        callbacks=[keras.callbacks.EarlyStopping(patience=config.patience,
                                                 restore_best_weights=True),
                   keras.callbacks.ModelCheckpoint(checkpoint, save_best_only=True)])
    seconds = time.perf_counter() - started
    best = keras.saving.load_model(checkpoint, compile=False, safe_mode=True)
    checkpoint.unlink()
    return best, history.history, seconds


def training_record(config: TrainConfig, episodes: Sequence[Episode],
                    selection: ItemSelection, train: EpisodeBatches,
                    history: dict[str, list[float]], seconds: float,
                    dataset: str | None) -> dict:
    """The card's `training` section: data, split, settings and outcome."""
    import keras

    photometric = train.photometric
    return {
        "dataset": dataset and shown_path(dataset),
        "dataset_appearance": _dataset_appearance(dataset),
        "episodes": [episodes[i].name for i in selection.train_ids],
        "validation_episodes": [episodes[i].name for i in selection.val_ids],
        "frames": int(train.per_epoch), "validation_frames": int(len(selection.val)),
        "epochs_run": len(history["loss"]), "seconds": round(seconds, 1),
        "best_val_loss": float(min(history["val_loss"])), "balance": config.balance,
        "flip": config.flip, "batch_size": config.batch_size, "stride": config.stride,
        "resample": config.resample,
        "augmentation": photometric.to_dict() if photometric else None,
        "patience": config.patience,
        "learning_rate": config.learning_rate, "seed": config.seed,
        "keras_backend": keras.backend.backend(),
    }


def train_network(config: TrainConfig, episodes: Sequence[Episode], out: Path | str,
                  card: ModelCard | None = None, verbose: int | str = "auto",
                  dataset: str | None = None) -> ModelCard:
    """Train on preprocessed `episodes`; writes out/NAME.keras + NAME.json, returns the card.

    `dataset` (where the episodes were read from) is recorded in the card.
    """
    import keras

    from follow_line.driving.nets import build_network
    from follow_line.driving.zoo import save_model

    check_config(config)
    keras.utils.set_random_seed(config.seed)
    card, options = network_card(config, card)
    check_dataset_world(dataset, card.world)
    model = build_network(config.network, card.preprocessing.frame_shape, **options)
    selection = select_items(config, episodes)
    train, val = batch_sequences(config, card, episodes, selection, model.output_names)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    best, history, seconds = fit_best(model, train, val, config,
                                      out / f".{card.name}.best.keras", verbose)
    card.training = training_record(config, episodes, selection, train, history, seconds,
                                    dataset)
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
