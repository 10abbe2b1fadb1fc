"""Offline metrics (seed tables).

MSE/MAE per regression output; accuracy, top-2 accuracy, precision, recall and F1 (macro)
per classifier output.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from follow_line.driving.card import ModelCard
from follow_line.errors import FollowLineError
from follow_line.learning.batches import compose_inputs
from follow_line.learning.labels import v_class, w_class

if TYPE_CHECKING:
    import keras


def predict_episodes(model: keras.Model, card: ModelCard, episodes: list,
                     batch_size: int = 256) -> dict[str, np.ndarray]:
    """Raw network outputs over every frame of `episodes`, keyed by output name."""
    outputs: dict[str, list[np.ndarray]] = {name: [] for name in model.output_names}
    for ep in episodes:
        for start in range(0, len(ep), batch_size):
            index = np.arange(start, min(start + batch_size, len(ep)))
            x = compose_inputs(ep.frames, index, card).astype(np.float32)
            out = model(x, training=False)
            out = out if isinstance(out, list | tuple) else [out]
            for name, value in zip(model.output_names, out, strict=True):
                outputs[name].append(np.asarray(value))
    result = {name: np.concatenate(parts) for name, parts in outputs.items()}
    for name, value in result.items():
        bad = int(np.size(value) - np.isfinite(value).sum())
        if bad:
            raise FollowLineError(f"network {card.name}: output {name!r} is NaN or infinite "
                                  f"for {bad} of {np.size(value)} values on this data; its "
                                  "metrics would be meaningless")
    return result


def classification_metrics(truth: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    """Accuracy, top-2 accuracy and macro precision, recall and F1 over the classes seen."""
    predicted = probabilities.argmax(axis=1)
    top2 = np.argsort(probabilities, axis=1)[:, -2:]
    seen = np.union1d(np.unique(truth), np.unique(predicted))
    precision, recall, f1 = [], [], []
    for c in seen:
        tp = np.sum((predicted == c) & (truth == c))
        p = tp / max(np.sum(predicted == c), 1)
        r = tp / max(np.sum(truth == c), 1)
        precision.append(p)
        recall.append(r)
        f1.append(2 * p * r / (p + r) if p + r > 0 else 0.0)
    return {"accuracy": float(np.mean(predicted == truth)),
            "top2_accuracy": float(np.mean(np.any(top2 == truth[:, None], axis=1))),
            "precision": float(np.mean(precision)), "recall": float(np.mean(recall)),
            "f1": float(np.mean(f1))}


def evaluate(model: keras.Model, card: ModelCard, episodes: list) -> dict[str, dict[str, float]]:
    """The seed's metrics of each output on `episodes`, in physical units for regression."""
    out = predict_episodes(model, card, episodes)
    v = np.concatenate([ep.v for ep in episodes]).astype(np.float64)
    w = np.concatenate([ep.w for ep in episodes]).astype(np.float64)
    result = {"frames": {"count": float(len(v))}}
    for name, value in out.items():
        if name in ("v", "w"):
            pred = card.unscale(name, value.reshape(-1))
            err = pred - (v if name == "v" else w)
            result[name] = {"mse": float(np.mean(err**2)), "mae": float(np.mean(np.abs(err)))}
        else:
            truth = w_class(w) if name == "w_class" else v_class(v)
            result[name] = classification_metrics(truth, value)
    return result


def metrics_tables(rows: list[dict]) -> str:
    """Markdown tables: one for regression outputs, one for classifier outputs.

    `rows`: {"model", "split", "metrics"} with metrics as returned by `evaluate`.
    """
    reg = ["| model | split | output | MSE | MAE |", "|---|---|---|---:|---:|"]
    cls = ["| model | split | output | accuracy | top-2 | precision | recall | F1 |",
           "|---|---|---|---:|---:|---:|---:|---:|"]
    for row in rows:
        for name, m in row["metrics"].items():
            if name in ("v", "w"):
                reg.append(f"| {row['model']} | {row['split']} | {name} | {m['mse']:.4f} | "
                           f"{m['mae']:.4f} |")
            elif name in ("w_class", "v_class"):
                cls.append(f"| {row['model']} | {row['split']} | {name} | {m['accuracy']:.3f} |"
                           f" {m['top2_accuracy']:.3f} | {m['precision']:.3f} | "
                           f"{m['recall']:.3f} | {m['f1']:.3f} |")
    parts = []
    if len(reg) > 2:
        parts += ["**Regression networks** (v in m/s, w in rad/s)", "", *reg, ""]
    if len(cls) > 2:
        parts += ["**Classification networks** (macro precision, recall and F1)", "", *cls, ""]
    return "\n".join(parts)
