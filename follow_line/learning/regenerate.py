"""`follow-line zoo`: regenerate the shipped networks from config/zoo.yaml in one command."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from follow_line.errors import FollowLineError

if TYPE_CHECKING:
    from follow_line.learning.train import TrainConfig

ZOO_SPEC = Path(__file__).resolve().parents[2] / "config" / "zoo.yaml"
ENTRY_KEYS = ("name", "network", "image", "constant_v", "balance", "epochs", "batch_size",
              "stride", "resample", "patience", "learning_rate", "augment", "seed",
              "options")


def read_spec(path: Path = ZOO_SPEC, world: str | None = None) -> dict:
    """The zoo specification of a world (None: the default world's, the file's top level)."""
    from follow_line.driving.nets import known_networks
    from follow_line.world.worlds import DEFAULT_WORLD, get_world

    try:
        spec = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise FollowLineError(f"cannot read the zoo specification {path}: {exc}") from None
    world = get_world(world).name
    if world != DEFAULT_WORLD:
        spec = (spec.get("worlds") or {}).get(world)
        if not isinstance(spec, dict):
            raise FollowLineError(f"{path} has no recipe for the world {world!r} "
                                  f"(worlds: {world}: datasets, defaults, networks)")

    for i, entry in enumerate(spec.get("networks", [])):
        unknown = set(entry) - set(ENTRY_KEYS)
        if unknown or "name" not in entry or "network" not in entry:
            raise FollowLineError(f"{path}: network entry {i} needs name and network and may "
                                  f"have {', '.join(ENTRY_KEYS)}; got {sorted(entry)}")
        if entry["network"] not in known_networks():
            raise FollowLineError(f"{path}: entry {entry['name']}: unknown network "
                                  f"{entry['network']!r}; known: {', '.join(known_networks())}")
    return spec


def data_folder(data_dir: Path, world: str | None = None) -> Path:
    """Where a world's zoo datasets live: DATA for the default world, else DATA/WORLD."""
    from follow_line.world.worlds import DEFAULT_WORLD, get_world

    name = get_world(world).name
    return Path(data_dir) if name == DEFAULT_WORLD else Path(data_dir) / name


def record_datasets(data_dir: Path, splits: list[str] | None = None,
                    spec_path: Path = ZOO_SPEC, progress: bool = True,
                    world: str | None = None) -> dict[str, Path]:
    """Record a world's zoo datasets (all, or the named ``splits``) that are missing."""
    from follow_line.learning.collect import collect
    from follow_line.world.appearance import Randomisation
    from follow_line.world.circuits import DIRECTIONS
    from follow_line.world.worlds import get_world

    known = read_spec(spec_path, world)["datasets"]
    unknown = sorted(set(splits or []) - set(known))
    if unknown:
        raise FollowLineError(f"unknown dataset {', '.join(unknown)}; "
                              f"{spec_path} has {', '.join(known)}")
    datasets = {}
    for split in splits or list(known):
        settings, folder = known[split], data_folder(data_dir, world) / split
        if not (folder / "dataset.yaml").exists():
            collect(folder, get_world(world).circuits(), list(DIRECTIONS),
                    laps=settings["laps"], recovery=settings["recovery"], seed=settings["seed"],
                    progress=progress, world=world,
                    randomisation=Randomisation() if settings.get("randomise") else None)
        datasets[split] = folder
    return datasets


def regenerate(data_dir: Path, out: Path, only: list[str] | None = None,
               spec_path: Path = ZOO_SPEC, progress: bool = True,
               world: str | None = None) -> list[str]:
    """Record a world's missing datasets, train its (selected) entries, evaluate them.

    Returns the names trained. The world's datasets live in `data_folder(data_dir, world)`.
    """
    from follow_line.driving.zoo import default_card
    from follow_line.learning.data import load_episodes
    from follow_line.learning.evaluate import evaluate_models
    from follow_line.learning.train import train_network

    spec = read_spec(spec_path, world)
    entries = [{**spec.get("defaults", {}), **e} for e in spec["networks"]]
    if only:
        missing = sorted(set(only) - {e["name"] for e in entries})
        if missing:
            raise FollowLineError(f"not in {spec_path}: {', '.join(missing)}")
        entries = [e for e in entries if e["name"] in only]
    datasets = record_datasets(data_dir, spec_path=spec_path, progress=progress, world=world)
    trained: list = []
    cache: dict = {}
    for entry in entries:
        config = train_config(entry)
        card = default_card(config.network, config.name, config.image_mode, config.constant_v,
                            world)
        if card.preprocessing not in cache:
            cache.clear()  # one preprocessing at a time: datasets can be large
            cache[card.preprocessing] = load_episodes(datasets["train"], card.preprocessing,
                                                      progress=progress)
        train_network(config, cache[card.preprocessing], out, card=card, verbose=2,
                      dataset=str(datasets["train"]))
        trained.append(entry["name"])
        evaluate_models([entry["name"]], datasets, Path(out) / "metrics" / entry["name"],
                        folder=out, update_cards=True, progress=progress)
    return trained


def train_config(entry: dict) -> TrainConfig:
    """The TrainConfig of one zoo entry (its fields over the spec's defaults)."""
    from follow_line.learning.train import TrainConfig

    return TrainConfig(network=entry["network"], name=entry["name"], image_mode=entry["image"],
                       constant_v=entry.get("constant_v"), balance=entry["balance"],
                       epochs=entry["epochs"], batch_size=entry["batch_size"],
                       stride=entry.get("stride", 1), resample=entry.get("resample", False),
                       patience=entry.get("patience", TrainConfig.patience),
                       learning_rate=entry.get("learning_rate", TrainConfig.learning_rate),
                       augment=entry.get("augment", False),
                       seed=entry.get("seed", TrainConfig.seed),
                       options=entry.get("options", {}))
