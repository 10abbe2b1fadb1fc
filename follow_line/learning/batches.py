"""Training batches composed on the fly from preprocessed episodes.

A sample is one (episode, frame) item; its network input is composed from the episode's
frames as the frame buffer serves them when driving (stacks, differences, sequences,
warm-up padded with the episode's first frame). Flipped samples are mirrored left-right
with w negated and w classes mirrored.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import keras
import numpy as np

from follow_line.driving.card import ModelCard
from follow_line.learning.augment import Photometric, augment_frames
from follow_line.learning.balance import Weigh
from follow_line.learning.data import Episode
from follow_line.learning.labels import mirror_w_class, targets

#: A change of gathered frames (images, frame's place in the sample) -> changed images.
FrameChange = Callable[[np.ndarray, int], np.ndarray]


def compose_inputs(frames: np.ndarray, index: np.ndarray, card: ModelCard,
                   change: FrameChange | None = None) -> np.ndarray:
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


class EpisodeBatches(keras.utils.PyDataset):
    """Batches of (episode, frame) `items`, in the model's output order, for `Model.fit`.

    `per_epoch` items (default: all) are drawn afresh from `items` each epoch, the order
    reshuffled (with `shuffle`) once all have been used. With `flip`, each sample is
    mirrored with probability 1/2; `weights` gives sample weights of a batch's targets and
    `photometric` a random appearance change per sample.
    """

    def __init__(self, episodes: Sequence[Episode], card: ModelCard, items: np.ndarray, *,
                 batch_size: int, output_names: Sequence[str], flip: bool = False,
                 shuffle: bool = False, seed: int = 0, weights: Weigh | None = None,
                 photometric: Photometric | None = None, per_epoch: int | None = None):
        """Batches of `batch_size` items; random draws from a generator seeded with `seed`."""
        super().__init__()
        self.episodes, self.card, self.items = episodes, card, items
        self.batch_size, self.output_names = batch_size, list(output_names)
        self.flip, self.shuffle = flip, shuffle
        self.weights, self.photometric = weights, photometric
        self.rng = np.random.default_rng(seed)
        self.per_epoch = len(items) if per_epoch is None else per_epoch
        self.order = np.arange(len(items))
        self.start = len(items)  # where this epoch's items begin in `order`
        self.on_epoch_end()

    def __len__(self) -> int:
        """Batches per epoch."""
        return math.ceil(self.per_epoch / self.batch_size)

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

    def __getitem__(self, i: int) -> tuple:
        """Batch `i` of this epoch: (x, y) or (x, y, sample weights) as Keras takes them."""
        x, y = self._compose(self._epoch_items(i))
        if self.flip:
            self._flip_half(x, y)
        return self._keras_batch(x, y)

    def _change(self, n: int) -> FrameChange | None:
        """Random appearance changes of `n` samples (None without augmentation)."""
        if self.photometric is None:
            return None
        params = self.photometric.sample(self.rng, n)
        return lambda images, number: augment_frames(images, params,
                                                     self.card.preprocessing, number)

    def _compose(self, chosen: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Inputs and targets of the chosen items, episode by episode."""
        xs, ys = [], []
        for e in np.unique(chosen[:, 0]):
            rows = chosen[chosen[:, 0] == e, 1]
            ep = self.episodes[e]
            xs.append(compose_inputs(ep.frames, rows, self.card, self._change(len(rows))))
            ys.append(targets(self.card, ep.v[rows], ep.w[rows]))
        y = {k: np.concatenate([t[k] for t in ys]) for k in ys[0]}
        return np.concatenate(xs).astype(np.float32), y

    def _flip_half(self, x: np.ndarray, y: dict[str, np.ndarray]) -> None:
        """Mirror a random half of the samples in place, their targets with them."""
        mask = self.rng.random(len(x)) < 0.5
        x[mask] = flip_inputs(x[mask])
        flipped = flip_targets({k: v[mask] for k, v in y.items()}, self.card)
        for k in y:
            y[k][mask] = flipped[k]

    def _keras_batch(self, x: np.ndarray, y: dict[str, np.ndarray]) -> tuple:
        """Targets and weights matched to the outputs by position, as Keras does.

        Tuples in output order; bare arrays for a single output.
        """
        ys = tuple(y[k] for k in self.output_names)
        ws = None
        if self.weights is not None:
            weights = self.weights(y)
            ws = tuple(weights[k] for k in self.output_names)
        if len(ys) == 1:
            return (x, ys[0]) if ws is None else (x, ys[0], ws[0])
        return (x, ys) if ws is None else (x, ys, ws)
