"""Minimum class confusion (MCC): Jin, Wang, Long and Wang, "Minimum Class Confusion for
Versatile Domain Adaptation", ECCV 2020 (arXiv:1912.03699).

A loss on the predictions for a batch of unlabelled target events, small when the network
seldom spreads an event's probability over two classes at once. For logits ``z`` (B, C):

1. probabilities ``p = softmax(z / T)``, temperature T (2.5 in the paper);
2. each event's entropy ``H = -sum_c p_c log(p_c + 1e-5)``, held constant (no gradient);
3. event weights ``w = 1 + exp(-H)``, scaled to sum to B (confident events count more);
4. the class-correlation matrix ``M = p^T diag(w) p`` (C, C);
5. category normalisation: each row of M divided by its sum;
6. the loss: (the sum of the normalised matrix minus its trace) / C.

Checked step by step against the reference implementation, thuml/Transfer-Learning-Library,
``tllib/self_training/mcc.py`` (``MinimumClassConfusionLoss.forward``, commit 2b1f58c8) and its
``tllib/modules/entropy.py`` (the entropy with 1e-5 inside the logarithm, taken over here).
There step 5 is written ``matrix / torch.sum(matrix, dim=1)``, which broadcasts: column j over
the sum of row j. M is symmetric, so that is the row normalisation transposed, and the loss,
a sum over the off-diagonal entries, is the same (the tests compute both).
"""

from __future__ import annotations

import torch

ENTROPY_EPSILON = 1e-5  # inside the logarithm of the entropy, as in the reference implementation


def class_confusion(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """The MCC loss of a batch of target logits (B, C), in float32 whatever the autocast."""
    with torch.autocast(logits.device.type, enabled=False):
        n_events, n_classes = logits.shape
        probabilities = torch.softmax(logits.float() / temperature, dim=1)
        entropy = -(probabilities * torch.log(probabilities + ENTROPY_EPSILON)).sum(dim=1).detach()
        weights = 1.0 + torch.exp(-entropy)
        weights = n_events * weights / weights.sum()
        confusion = (probabilities * weights[:, None]).T @ probabilities
        confusion = confusion / confusion.sum(dim=1, keepdim=True)
        return (confusion.sum() - confusion.trace()) / n_classes
