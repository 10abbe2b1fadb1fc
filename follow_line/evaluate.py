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
    out = Path(out)
    write_json_atomic(out / "metrics.json", {"rows": rows})
    write_text_atomic(out / "metrics.md", metrics_tables(rows))
    return rows
