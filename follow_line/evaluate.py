"""`follow-line evaluate`: offline metrics of trained networks, tables written atomically."""

from __future__ import annotations

from pathlib import Path

from follow_line.files import write_json_atomic, write_text_atomic
from follow_line.metrics import evaluate, metrics_tables


def evaluate_models(names: list[str], datasets: dict[str, Path], out: Path,
                    folder: Path | None = None, update_cards: bool = False,
                    progress: bool = True) -> list[dict]:
    """Metrics of each network on each named dataset; writes out/metrics.{md,json}."""
    from follow_line.data import load_episodes
    from follow_line.zoo import load_model, models_dir

    folder = Path(folder) if folder else models_dir()
    rows, cache = [], {}
    for name in names:
        model, card = load_model(name, folder)
        for split, path in datasets.items():
            key = (card.preprocessing, str(path))
            if key not in cache:
                cache.clear()  # one preprocessing at a time: datasets can be large
                cache[key] = load_episodes(path, card.preprocessing, progress=progress)
            metrics = evaluate(model, card, cache[key])
            rows.append({"model": card.name, "split": split, "data": str(path),
                         "metrics": metrics})
            card.metrics[split] = metrics
        if update_cards:
            card_path = Path(name).with_suffix(".json") if name.endswith((".keras", ".json")) \
                else folder / f"{name}.json"
            card.save(card_path)
    write_tables(rows, out)
    return rows


def card_metrics(names: list[str], out: Path, folder: Path | None = None) -> list[dict]:
    """The tables from the metrics stored in each network's card (no data needed)."""
    from follow_line.errors import FollowLineError
    from follow_line.zoo import load_card, models_dir

    folder = Path(folder) if folder else models_dir()
    rows = []
    for name in names:
        card = load_card(name, folder)
        if not card.metrics:
            raise FollowLineError(f"the card of {name} holds no metrics: run `follow-line "
                                  f"evaluate --update-cards` with its data first")
        rows += [{"model": card.name, "split": split, "metrics": metrics}
                 for split, metrics in card.metrics.items()]
    write_tables(rows, out)
    return rows


def write_tables(rows: list[dict], out: Path) -> None:
    """out/metrics.json and out/metrics.md."""
    out = Path(out)
    write_json_atomic(out / "metrics.json", {"rows": rows})
    write_text_atomic(out / "metrics.md", metrics_tables(rows))
