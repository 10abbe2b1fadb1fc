"""`follow-line zoo`: regenerate the shipped networks from config/zoo.yaml in one command."""

from __future__ import annotations

from pathlib import Path

import yaml

from follow_line.errors import FollowLineError

ZOO_SPEC = Path(__file__).resolve().parents[2] / "config" / "zoo.yaml"
ENTRY_KEYS = ("name", "network", "image", "constant_v", "balance", "epochs", "batch_size",
              "stride", "resample", "patience", "learning_rate", "augment", "seed",
              "options")


def read_spec(path: Path = ZOO_SPEC) -> dict:
    """The zoo specification, validated."""
    try:
        spec = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise FollowLineError(f"cannot read the zoo specification {path}: {exc}") from None
    from follow_line.driving.nets import known_networks

    for i, entry in enumerate(spec.get("networks", [])):
        unknown = set(entry) - set(ENTRY_KEYS)
        if unknown or "name" not in entry or "network" not in entry:
            raise FollowLineError(f"{path}: network entry {i} needs name and network and may "
                                  f"have {', '.join(ENTRY_KEYS)}; got {sorted(entry)}")
        if entry["network"] not in known_networks():
            raise FollowLineError(f"{path}: entry {entry['name']}: unknown network "
                                  f"{entry['network']!r}; known: {', '.join(known_networks())}")
    return spec


def record_datasets(data_dir: Path, splits: list[str] | None = None,
                    spec_path: Path = ZOO_SPEC, progress: bool = True) -> dict[str, Path]:
    """Record the zoo's datasets (all, or the named ``splits``) that are missing; their folders."""
    from follow_line.learning.collect import collect
    from follow_line.world.appearance import Randomisation
    from follow_line.world.circuits import DIRECTIONS, builtin_circuits

    known = read_spec(spec_path)["datasets"]
    unknown = sorted(set(splits or []) - set(known))
    if unknown:
        raise FollowLineError(f"unknown dataset {', '.join(unknown)}; "
                              f"{spec_path} has {', '.join(known)}")
    datasets = {}
    for split in splits or list(known):
        settings, folder = known[split], Path(data_dir) / split
        if not (folder / "dataset.yaml").exists():
            collect(folder, builtin_circuits(), list(DIRECTIONS), laps=settings["laps"],
                    recovery=settings["recovery"], seed=settings["seed"], progress=progress,
                    randomisation=Randomisation() if settings.get("randomise") else None)
        datasets[split] = folder
    return datasets


def regenerate(data_dir: Path, out: Path, only: list[str] | None = None,
               spec_path: Path = ZOO_SPEC, progress: bool = True) -> list[str]:
    """Record missing datasets, train the (selected) entries, evaluate them; returns names."""
    from follow_line.driving.zoo import default_card
    from follow_line.learning.data import load_episodes
    from follow_line.learning.evaluate import evaluate_models
    from follow_line.learning.train import TrainConfig, train_network

    spec = read_spec(spec_path)
    entries = [{**spec.get("defaults", {}), **e} for e in spec["networks"]]
    if only:
        missing = sorted(set(only) - {e["name"] for e in entries})
        if missing:
            raise FollowLineError(f"not in {spec_path}: {', '.join(missing)}")
        entries = [e for e in entries if e["name"] in only]
    datasets = record_datasets(data_dir, spec_path=spec_path, progress=progress)
    trained: list = []
    cache: dict = {}
    for entry in entries:
        config = TrainConfig(network=entry["network"], name=entry["name"],
                             image_mode=entry["image"], constant_v=entry.get("constant_v"),
                             balance=entry["balance"], epochs=entry["epochs"],
                             batch_size=entry["batch_size"], stride=entry.get("stride", 1),
                             resample=entry.get("resample", False),
                             patience=entry.get("patience", TrainConfig.patience),
                             learning_rate=entry.get("learning_rate", TrainConfig.learning_rate),
                             augment=entry.get("augment", False),
                             seed=entry.get("seed", TrainConfig.seed),
                             options=entry.get("options", {}))
        card = default_card(config.network, config.name, config.image_mode, config.constant_v)
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
