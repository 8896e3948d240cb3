"""One training epoch: its data order, its steps and running sums, mid-epoch checkpoints.

Mid-epoch checkpoints (every ``checkpoint_minutes``) hold the steps done and the running
sums; the resumed epoch replays the same data order and skips the batches already trained
on, so it ends with the weights of an uninterrupted one.
"""

from __future__ import annotations

import time

import torch

from minerva_vertex import model_kinds

from .context import TrainingRun
from .run_state import EpochProgress
from .steps import NonFiniteLossError, StepLosses, lambda_at, learning_rate_schedule

SUMS = ("label_loss", "correct", "domain_loss", "domain_correct")


def epoch_generator(seed: int, epoch: int, stream: int) -> torch.Generator:
    """The data-order generator of one epoch: a function of (seed, epoch, stream) alone."""
    return torch.Generator().manual_seed(int(seed) * 1_000_003 + epoch * 101 + stream)


def _cycle(batches, seed: int, epoch: int):
    """Endless target batches, reshuffled every pass."""
    rounds = 0
    while True:
        yield from batches.epoch(epoch_generator(seed, epoch * 1000 + rounds, stream=1))
        rounds += 1


class FiniteWatch:
    """The first step whose loss is not finite, kept on the device and read only where the
    epoch reads its running sums anyway (no extra synchronisation)."""

    def __init__(self, device):
        self.first = torch.tensor(-1, device=device)

    def see(self, step: int, loss: torch.Tensor) -> None:
        self.first = torch.where((self.first < 0) & ~torch.isfinite(loss.detach()), step, self.first)

    def check(self, epoch: int, steps_per_epoch: int) -> None:
        first = int(self.first.item())
        if first > 0:
            raise NonFiniteLossError(f"the training loss of epoch {epoch + 1} is not finite from step {first} of {steps_per_epoch}")


class EpochTotals:
    """An epoch's running sums, on the device (read at the progress bar and checkpoints),
    continuing those of ``done`` when a mid-epoch checkpoint is resumed."""

    def __init__(self, done: EpochProgress, device):
        self.done = done
        self.sums = {k: torch.tensor(float(getattr(done, k)), device=device) for k in SUMS}
        self.n_source, self.n_domain = done.n_source, done.n_domain
        self.start = time.perf_counter() - done.seconds

    def add(self, losses: StepLosses, source, target) -> None:
        n = len(source)
        self.n_source += n
        self.sums["label_loss"] += losses.label_loss.detach() * n
        self.sums["correct"] += losses.correct
        if losses.domain_loss is not None:
            m = n + len(target)
            self.n_domain += m
            self.sums["domain_loss"] += losses.domain_loss.detach() * m
            self.sums["domain_correct"] += losses.domain_correct

    def progress(self, steps: int) -> EpochProgress:
        totals = {k: v.item() for k, v in self.sums.items()}
        return EpochProgress(steps, **totals, n_source=self.n_source, n_domain=self.n_domain, seconds=time.perf_counter() - self.start)

    def postfix(self) -> dict:
        return {
            "loss": f"{self.sums['label_loss'].item() / self.n_source:.3f}",
            "acc": f"{self.sums['correct'].item() / self.n_source:.3f}",
        }

    def row(self, epoch: int, lambda_: float, learning_rate: float) -> dict:
        """The epoch's training columns of metrics.csv."""
        seconds = time.perf_counter() - self.start
        totals = {k: v.item() for k, v in self.sums.items()}
        n_source, n_domain, done = self.n_source, self.n_domain, self.done
        return {
            "epoch": epoch,
            "train_label_loss": totals["label_loss"] / max(n_source, 1),
            "train_accuracy": totals["correct"] / max(n_source, 1),
            "train_domain_loss": totals["domain_loss"] / n_domain if n_domain else float("nan"),
            "train_domain_accuracy": totals["domain_correct"] / n_domain if n_domain else float("nan"),
            "lambda": lambda_,
            "learning_rate": learning_rate,
            "train_events_per_s": (n_source - done.n_source) / max(seconds - done.seconds, 1e-9),
            "epoch_seconds": seconds,
        }


def train_epoch(ctx: TrainingRun, epoch: int) -> dict:
    """One epoch, from ``ctx.run.partial`` when a mid-epoch checkpoint is resumed; its row
    of training columns."""
    from tqdm.auto import tqdm

    s, run, learner, batches = ctx.settings, ctx.run, ctx.learner, ctx.batches
    learner.step_model.train()
    done = run.partial or EpochProgress()
    target_iter = _cycle(batches.target_train, s.seed, epoch) if batches.target_train is not None else None
    totals, watch = EpochTotals(done, ctx.compute.device), FiniteWatch(ctx.compute.device)
    schedule = learning_rate_schedule(s)
    lr = lam = float("nan")
    adversarial = s.kind in model_kinds.ADVERSARIAL_KINDS  # only a DANN has a reversal coefficient
    bar = tqdm(total=ctx.steps_per_epoch, initial=done.steps, desc=f"epoch {epoch + 1}/{s.epochs}", unit="step",
               disable=not ctx.options.progress)
    for i, batch in enumerate(batches.source_train.epoch(epoch_generator(s.seed, epoch, stream=0))):
        tbatch = next(target_iter) if target_iter is not None else None
        if i < done.steps:
            continue  # trained on before the checkpoint this run resumed from
        step = epoch * ctx.steps_per_epoch + i
        lr = schedule.at(step, ctx.total_steps)
        learner.set_learning_rate(lr)
        lam = lambda_at(s, step, ctx.total_steps) if adversarial else float("nan")
        losses = learner.step(s, batch, tbatch, lam, ctx.compute)
        watch.see(i + 1, losses.loss)
        totals.add(losses, batch, tbatch)
        bar.update(1)
        _after_step(ctx, epoch, i, totals, watch, bar)
    run.partial = None
    bar.close()
    return totals.row(epoch, lam, lr)


def _after_step(ctx: TrainingRun, epoch: int, i: int, totals: EpochTotals, watch: FiniteWatch, bar) -> None:
    """The step hook, the loss check and progress bar every 10 steps, a mid-epoch checkpoint when due."""
    last = ctx.steps_per_epoch - 1
    if ctx.hooks.on_step is not None:
        # The network as it would be kept: the moving average when the weights are averaged.
        learner = ctx.learner
        ctx.hooks.on_step(epoch * ctx.steps_per_epoch + i + 1, learner.step_model if learner.averaged is None else learner.kept())
        learner.step_model.train()
    if i % 10 == 0 or i == last:
        watch.check(epoch, ctx.steps_per_epoch)
        bar.set_postfix(**totals.postfix())
    if i < last and ctx.saver.due():
        ctx.run.partial = totals.progress(i + 1)
        ctx.saver.save_now(ctx.run)
