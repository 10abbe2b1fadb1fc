"""`follow-line evaluate`: offline metrics of trained networks, tables written atomically."""

from __future__ import annotations

from pathlib import Path

from follow_line.files import write_json_atomic, write_text_atomic
from follow_line.learning.metrics import evaluate, metrics_tables


def evaluate_models(names: list[str], datasets: dict[str, Path], out: Path,
                    folder: Path | None = None, update_cards: bool = False,
                    progress: bool = True, world: str | None = None) -> list[dict]:
    """Metrics of each network (of `folder`, default `world`'s) on each named dataset.

    Writes out/metrics.{md,json}.

    Each dataset is loaded once per preprocessing and serves every network that shares it
    (one dataset in memory at a time: they can be large).
    """
    from follow_line.driving.zoo import load_model, models_dir, network_files
    from follow_line.learning.data import load_episodes

    folder = Path(folder) if folder else models_dir(world)
    networks = {name: load_model(name, folder) for name in names}
    by_preprocessing: dict = {}
    for name, (_, card) in networks.items():
        by_preprocessing.setdefault(card.preprocessing, []).append(name)
    results = {}
    for preprocessing, group in by_preprocessing.items():
        for split, path in datasets.items():
            episodes = load_episodes(path, preprocessing, progress=progress)
            for name in group:
                model, card = networks[name]
                card.metrics[split] = evaluate(model, card, episodes)
                results[name, split] = {"model": card.name, "split": split, "data": str(path),
                                        "metrics": card.metrics[split]}
            del episodes
    if update_cards:
        for name, (_, card) in networks.items():
            card.save(network_files(name, folder)[1])
    rows = [results[name, split] for name in names for split in datasets]
    write_tables(rows, out)
    return rows


def card_metrics(names: list[str], out: Path, folder: Path | None = None,
                 world: str | None = None) -> list[dict]:
    """The tables from the metrics stored in each network's card (no data needed)."""
    from follow_line.driving.zoo import load_card, models_dir
    from follow_line.errors import FollowLineError

    folder = Path(folder) if folder else models_dir(world)
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
