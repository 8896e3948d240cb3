"""The kinds of network the workflow trains and what each takes from the config.

- ``cnn``: the segment classifier, trained on labelled source events;
- ``dann``: the CNN plus a domain classifier behind a gradient reversal layer, which also
  learns from an unlabelled target sample (Ganin et al. 2016, MINERvA);
- ``mcc``: the CNN, its predictions on an unlabelled target sample pushed towards less
  confusion between classes (minimum class confusion, Jin et al. 2020);
- ``finetune``: the CNN fine-tuned from another model's weights on source events alone:
  the control of an adapted network started from the same weights, with the same source
  events, steps, learning rate and seed, but no target and no adaptation loss. It reads no
  target sample at all: the source order is drawn from a generator of (seed, epoch) alone,
  the same for it and its DANN, and the DANN's dropout masks, drawn over the events of both
  domains and in its domain classifier, could not be matched by reading the target anyway.

Imports nothing heavy: the workflow's config checks read it.
"""

from __future__ import annotations

KINDS = ("cnn", "dann", "finetune", "mcc")
# Kinds that learn from an unlabelled target sample (config ``target_sample``); they read
# its images, never its labels.
TARGET_KINDS = ("dann", "mcc")
# Kinds with a domain classifier behind a gradient reversal layer (a reversal coefficient).
ADVERSARIAL_KINDS = ("dann",)
# Kinds that only make sense started from another model's trained weights (``init_from``).
STARTED_KINDS = ("finetune",)


def takes_target(kind: str) -> bool:
    """Whether a network of ``kind`` learns from a target sample."""
    return kind in TARGET_KINDS
