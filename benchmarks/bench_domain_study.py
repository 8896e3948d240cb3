"""Domain-adaptation study: CNN, DANN and oracle over several seeds, and the label-free
choice of the DANN's domain-loss weight.

    make domain-study            # images of the default run, then this (3 seeds)
    python benchmarks/bench_domain_study.py --images results/images/simulation \\
        --target-images results/images/data_like --seeds 1 2 3 --weights 0.1 0.3

Every network is the default config's entry (config/config.yaml: ``models.cnn``,
``models.dann``, ``models.oracle``) with its seed replaced (and, for the DANNs, its
``domain_loss_weight``), trained through the pipeline's own ``training.train``. The default
run's networks are the seed-1 ones. Per seed it prints the accuracies on both test splits,
the drop, the oracle's gap and the share of it the default-weight DANN closes; then the
mean and spread over the seeds; then, per validator (source validation loss, DEV, target
entropy), the DANN it picks among each seed's weights against the best in hindsight (the
target test labels serve this report only). Writes ``--out`` (JSON) and a Markdown table.
"""

from __future__ import annotations

import argparse
import glob
import json
import tempfile
from pathlib import Path

import torch
import yaml

from minerva_vertex import datasets, domain_study, training
from minerva_vertex.devices import Compute

REPO = Path(__file__).resolve().parents[1]


def batches(files, split, labels, max_events, settings):
    reading = datasets.ReadOptions(batch_size=512, memory_limit_mb=4096, chunk_events=4096)
    return datasets.load_batches(files, split, reading, channels=settings.channels, labels=labels, max_events=max_events)


def train_and_score(name, entry, source, target, args, options, init_state=None):
    """The trained network's :class:`domain_study.Scored` and its weights; ``init_state``:
    the weights it starts from when its entry has ``init_from``."""
    settings = training.TrainSettings.from_dict(entry, name)
    compute = Compute.for_options(options)
    train_on = target if entry["train_sample"] == "data_like" else source
    print(f"{name}: training ({entry})", flush=True)
    with tempfile.TemporaryDirectory() as checkpoint_dir:
        result = training.train(settings, train_on, target if settings.kind == "dann" else (),
                                checkpoint_dir=checkpoint_dir, options=options,
                                init=training.StartingWeights(init_state) if settings.init_from else None)
    model = result.model
    accuracy = {}
    for side, files in (("source", source), ("target", target)):
        logits, labels = training.predict_logits(model, batches(files, "test", True, args.test_events, settings), compute)[:2]
        accuracy[side] = domain_study.accuracy(logits, labels)
    risks = {}
    if settings.kind == "dann":
        src_logits, src_labels, src_features = training.predict_logits(
            model, batches(source, "validation", True, args.val_events, settings), compute, features=True)
        tgt_logits, _, tgt_features = training.predict_logits(
            model, batches(target, "validation", False, args.val_events, settings), compute, features=True)
        risks = domain_study.risks(src_logits, src_labels, src_features, tgt_logits, tgt_features, seed=settings.seed)
    scored = domain_study.Scored(name, settings.kind, settings.seed, entry.get("domain_loss_weight"),
                                 accuracy["source"], accuracy["target"], risks)
    print(f"  {name}: source {scored.source_accuracy:.4f}  target {scored.target_accuracy:.4f}  {risks}", flush=True)
    return scored, model.state_dict()


def markdown(summaries: list[dict], choice: list[dict]) -> str:
    lines = ["| seed | CNN sim | CNN data-like | drop | oracle data-like | DANN sim | DANN data-like | gap closed |",
             "|---|---|---|---|---|---|---|---|"]
    pct = lambda v: f"{100 * v:.1f}"  # noqa: E731
    for s in summaries:
        lines.append(f"| {s['seed']} | {pct(s['cnn'][0])} | {pct(s['cnn'][1])} | {pct(s['cnn_drop'])} | "
                     f"{pct(s['oracle_target'])} | {pct(s['dann'][0])} | {pct(s['dann'][1])} | "
                     f"{'-' if s['gap_closed'] is None else format(s['gap_closed'], '.2f')} |")
    for key, label in (("cnn_drop", "CNN drop, points"), ("oracle_gap", "oracle - CNN on data-like, points"),
                       ("gap_closed", "share of the gap closed")):
        mean, spread = domain_study.mean_and_spread([s[key] for s in summaries])
        scale = 1 if key == "gap_closed" else 100
        lines.append(f"\n{label}: {scale * mean:.2f} +- {scale * spread:.2f} (mean +- spread over {len(summaries)} seeds)")
    lines += ["", "| seed | rule | weight picked | its data-like accuracy | best in hindsight |", "|---|---|---|---|---|"]
    for seed_choice in choice:
        for rule, c in seed_choice["rules"].items():
            lines.append(f"| {seed_choice['seed']} | {rule} | {c['weight']:g} | {pct(c['target_accuracy'])} | "
                         f"{pct(c['best_target_accuracy'])} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", default="results/images/simulation")
    parser.add_argument("--target-images", default="results/images/data_like")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--weights", type=float, nargs="+", default=None,
                        help="DANN domain-loss weights per seed (default: the config's and 3 times it)")
    parser.add_argument("--test-events", type=int, default=None, help="test events per sample (default: all)")
    parser.add_argument("--val-events", type=int, default=2000, help="validation events per domain for the validators")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default="benchmarks/output/domain_study.json")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    source, target = (sorted(glob.glob(f"{d}/*.h5")) for d in (args.images, args.target_images))
    if not source or not target:
        raise SystemExit(f"no image files in {args.images} or {args.target_images}: run the pipeline first")
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    options = training.RunOptions.from_section({**config["training"], "device": args.device, "progress": False})
    entries = config["models"]
    default_weight = entries["dann"]["domain_loss_weight"]
    weights = args.weights or [default_weight, 3 * default_weight]
    summaries, choice, scored = [], [], []
    for seed in args.seeds:
        cnn, cnn_state = train_and_score(f"cnn_s{seed}", {**entries["cnn"], "seed": seed}, source, target, args, options)
        oracle, _ = train_and_score(f"oracle_s{seed}", {**entries["oracle"], "seed": seed}, source, target, args, options)
        # A DANN that starts from the CNN (init_from, as in the default config) starts from this seed's.
        danns = [train_and_score(f"dann_w{w:g}_s{seed}", {**entries["dann"], "seed": seed, "domain_loss_weight": w},
                                 source, target, args, options, init_state=cnn_state)[0] for w in weights]
        default = next((d for d in danns if d.domain_loss_weight == default_weight), danns[0])
        summaries.append(domain_study.seed_summary(cnn, oracle, default))
        choice.append({"seed": seed, "rules": domain_study.picks(danns)})
        scored += [cnn, oracle, *danns]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"seeds": summaries, "choice": choice, "networks": [vars(s) for s in scored]}, indent=2))
    table = markdown(summaries, choice)
    out.with_suffix(".md").write_text(table)
    print(table)
    print(f"wrote {out} and {out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
