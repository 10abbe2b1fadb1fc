"""`follow-line models`, `collect`, `train`, `evaluate` and `zoo`: networks and their data."""

from __future__ import annotations

import argparse
from pathlib import Path

from follow_line.cli.options import (
    AddCommand,
    add,
    csv,
    key_value,
    non_negative_int,
    positive,
    positive_int,
)
from follow_line.errors import FollowLineError


def cmd_models(args: argparse.Namespace) -> int:
    """List the registry networks and the shipped (trained) ones; an unreadable one is marked."""
    from follow_line.driving.nets import NETWORKS
    from follow_line.driving.zoo import load_model, models_dir, shipped_models

    print("Registry networks (a name without shipped weights drives untrained):")
    print(f"  {'name':<27}{'task':<16}{'frames':<12}{'input':<14}outputs")
    for info in NETWORKS.values():
        shape = "x".join(str(d) for d in info.model_input_shape())
        print(f"  {info.name:<27}{info.task:<16}{info.frames:<12}{shape:<14}"
              f"{', '.join(info.outputs)}")
    folder = models_dir(args.world)
    names = shipped_models(folder)
    print(f"\nShipped networks in {folder}:" + ("" if names else " none yet"))
    for name in names:
        try:
            _, card = load_model(name, folder)
        except (FollowLineError, OSError) as exc:  # listed and marked; the rest still listed
            print(f"  {name:<27}UNREADABLE: {exc}")
            continue
        mode = card.preprocessing.image_mode
        print(f"  {name:<27}{card.network:<27}{mode:<9}{card.description[:40]}")
    return 0


def add_models(command: AddCommand) -> None:
    """Add `models`."""
    p = command("models", help="list the network registry and the shipped networks")
    add(p, "world", help="list the networks trained for this world")
    p.set_defaults(func=cmd_models)


def cmd_collect(args: argparse.Namespace) -> int:
    """Record a dataset with the explicit driver (rosbag2 episodes + dataset.yaml)."""
    from follow_line.learning.collect import collect
    from follow_line.world.appearance import Randomisation
    from follow_line.world.circuits import DIRECTIONS
    from follow_line.world.worlds import get_world

    metas = collect(args.out, args.circuits or get_world(args.world).circuits(),
                    args.directions or list(DIRECTIONS), laps=args.laps,
                    recovery=args.recovery, seed=args.seed, overwrite=args.overwrite,
                    progress=not args.quiet,
                    randomisation=Randomisation() if args.randomise else None,
                    storage=args.storage, world=args.world)
    frames = sum(m["frames"] for m in metas)
    print(f"{len(metas)} episodes, {frames} frames written to {args.out}")
    for m in metas:
        print(f"  {m['name']:<40}{m['frames']:>6} frames  {m['stop_reason']}")
    return 0


def add_collect(command: AddCommand) -> None:
    """Add `collect`."""
    p = command("collect", help="record a dataset with the explicit driver")
    add(p, "out", required=True, help="dataset folder to create")
    add(p, "world", "circuits", "directions")
    add(p, "laps", type=non_negative_int, help="clean laps per circuit and direction")
    p.add_argument("--recovery", type=non_negative_int, default=1,
                   help="recovery laps (off-line start, steering disturbances) per circuit "
                        "and direction")
    add(p, "seed")
    p.add_argument("--overwrite", action="store_true", help="replace an existing dataset")
    p.add_argument("--storage", default="mcap", choices=("mcap", "sqlite3"),
                   help="rosbag2 storage of the episodes (default: mcap, ROS 2's default)")
    p.add_argument("--randomise", action="store_true",
                   help="record a random world (colours, light, texture, blur, JPEG, camera "
                        "mounting) that changes every few seconds; the expert still labels "
                        "from the nominal camera")
    add(p, "quiet")
    p.set_defaults(func=cmd_collect)


def cmd_train(args: argparse.Namespace) -> int:
    """Train one network on a dataset and save it with its card."""
    from follow_line.driving.zoo import default_card
    from follow_line.learning.data import load_episodes
    from follow_line.learning.train import TrainConfig, check_dataset_world, train_network

    config = TrainConfig(network=args.model, name=args.name, image_mode=args.image,
                         constant_v=args.constant_v, balance=args.balance, epochs=args.epochs,
                         batch_size=args.batch_size, seed=args.seed, stride=args.stride,
                         resample=args.resample, patience=args.patience,
                         learning_rate=args.learning_rate,
                         val_circuits=tuple(args.val_circuits or ()), augment=args.augment,
                         options=dict(args.arch))
    card = default_card(config.network, config.name, config.image_mode, config.constant_v,
                        args.world)
    check_dataset_world(args.data, card.world)
    out = args.out or world_models(args.world)
    episodes = load_episodes(args.data, card.preprocessing, progress=not args.quiet)
    card = train_network(config, episodes, out, card=card,
                         verbose=2 if args.quiet else "auto", dataset=str(args.data))
    print(f"saved {out / (card.name + '.keras')} and its card "
          f"(best validation loss {card.training['best_val_loss']:.4f})")
    return 0


def add_train(command: AddCommand) -> None:
    """Add `train`."""
    p = command("train", help="train a registry network on a dataset")
    add(p, "model", default=None, required=True,
        help="registry network (see `follow-line models`)")
    p.add_argument("--data", type=Path, required=True,
                   help="dataset folder, rosbag2 folder(s) or data.csv folder")
    p.add_argument("--name", help="name of the trained network (default: the network's)")
    p.add_argument("--image", default="cropped", choices=("cropped", "whole"))
    p.add_argument("--constant-v", type=positive, help="drive at this constant speed (m/s)")
    p.add_argument("--balance", default="imbalanced",
                   choices=("imbalanced", "biased", "balanced", "tempered"),
                   help="raw, weighted or resampled by the w class of each frame, so "
                        "sharp turns count as much as straights; tempered: weighted by "
                        "the square root of biased's weights")
    p.add_argument("--epochs", type=positive_int, default=30)
    p.add_argument("--arch", type=key_value, action="append", default=[], metavar="KEY=VALUE",
                   help="a builder option off the default, recorded in the card (repeat for "
                        "more), e.g. pooling=flatten for lrcn, steps=32 for cnn_lstm")
    p.add_argument("--batch-size", type=positive_int, default=64)
    p.add_argument("--stride", type=positive_int, default=1,
                   help="train on every N-th frame (validation too); 1 = all")
    p.add_argument("--resample", action="store_true",
                   help="with --stride N: each epoch trains on a fresh random 1/N of all "
                        "frames, so every frame is seen over the epochs")
    p.add_argument("--augment", action="store_true",
                   help="random light, gamma, colour cast, blur and noise per training sample")
    p.add_argument("--patience", type=positive_int, default=5,
                   help="EarlyStopping: epochs without a better validation loss")
    p.add_argument("--learning-rate", type=positive, default=1e-3, help="Adam's step size")
    p.add_argument("--val-circuits", type=csv,
                   help="hold these circuits out for validation (default: 20%% of episodes)")
    add(p, "seed", "world")
    add(p, "out", help="folder for NAME.keras (default: models/, or models/WORLD/)")
    add(p, "quiet", help="one line per epoch")
    p.set_defaults(func=cmd_train)


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Offline metrics of trained networks on train and test data (Markdown + JSON)."""
    from follow_line.learning.evaluate import card_metrics, evaluate_models

    if args.from_cards:
        rows = card_metrics(args.models, args.out, folder=args.models_dir, world=args.world)
    elif args.train_data is None or args.test_data is None:
        raise FollowLineError("evaluate needs --train-data and --test-data, or --from-cards")
    else:
        rows = evaluate_models(args.models, {"train": args.train_data, "test": args.test_data},
                               args.out, folder=args.models_dir,
                               update_cards=args.update_cards, progress=not args.quiet,
                               world=args.world)
    print((args.out / "metrics.md").read_text())
    return 0 if rows else 1


def add_evaluate(command: AddCommand) -> None:
    """Add `evaluate`."""
    p = command("evaluate", help="offline metrics on train and test data")
    p.add_argument("--models", type=csv, required=True, help="comma-separated trained names")
    p.add_argument("--train-data", type=Path)
    p.add_argument("--test-data", type=Path)
    p.add_argument("--from-cards", action="store_true",
                   help="tables from the metrics stored in the cards (no data needed)")
    add(p, "out", required=True, help="folder for metrics.md/.json")
    p.add_argument("--models-dir", type=Path,
                   help="where the networks are (default: models/, or models/WORLD/)")
    add(p, "world")
    p.add_argument("--update-cards", action="store_true",
                   help="also store the metrics in each model's card")
    add(p, "quiet")
    p.set_defaults(func=cmd_evaluate)


def cmd_zoo(args: argparse.Namespace) -> int:
    """Regenerate the shipped networks (config/zoo.yaml): data, training, metrics."""
    from follow_line.learning.regenerate import record_datasets, regenerate

    if args.datasets:
        folders = record_datasets(args.data, args.datasets, progress=not args.quiet,
                                  world=args.world)
        print(f"datasets: {', '.join(str(f) for f in folders.values())}")
        return 0
    out = args.out or world_models(args.world)
    names = regenerate(args.data, out, args.only, progress=not args.quiet, world=args.world)
    print(f"trained {len(names)} networks into {out}: {', '.join(names)}")
    return 0


def add_zoo(command: AddCommand) -> None:
    """Add `zoo`."""
    p = command("zoo", help="regenerate every shipped network (config/zoo.yaml)")
    p.add_argument("--data", type=Path, default=Path("data"),
                   help="where the train/test datasets are (recorded if missing)")
    add(p, "out", help="folder for the trained networks (default: models/, or models/WORLD/)")
    add(p, "world", help="whose recipe (config/zoo.yaml worlds:) and datasets (DATA/WORLD/)")
    p.add_argument("--only", type=csv, help="comma-separated subset of the zoo's names")
    p.add_argument("--datasets", type=csv, metavar="SPLITS",
                   help="only record these datasets if missing (train,test) and train nothing")
    add(p, "quiet")
    p.set_defaults(func=cmd_zoo)


def world_models(world: str) -> Path:
    """The default --out of train and zoo: models/, or models/WORLD/ for another world."""
    from follow_line.world.worlds import get_world

    return Path("models") / get_world(world).models


def register(command: AddCommand) -> None:
    """Add `models`, `collect`, `train`, `evaluate` and `zoo`."""
    for add_command in (add_models, add_collect, add_train, add_evaluate, add_zoo):
        add_command(command)
