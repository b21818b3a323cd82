"""FDA's evaluation (fda.md, section 4): full sort at K = 10..50, clean or with the official quirks.

Clean (default) is the package's full-sort evaluator (:func:`recsys_fair.evaluate_full_sort`), which
already reports what FDA needs: ``capped_recall@K`` (FDA's "HR", hits / min(|T_u|, K)), ``ndcg@K``
(ideal DCG over min(|T_u|, K) positions), ``recall@K``, the item-level ``dp@K`` / ``eo@K`` of
recsys-common.md section 9, and the per-group ``recall``/``ndcg`` with their gaps.

``fda_compat=True`` reproduces the official ``test.py`` with its defects, for comparison with its
numbers:

1. Keys: every user's list is the top K of ``[real scores || test-item scores]`` (``2I`` columns), so a
   hit is the key ``item + I``; DP averages over keys, so an item recommended as a hit to some users
   and as a non-hit to others forms two entries; EO uses only the hit keys.
2. Off-by-one: a hit is ``key > I`` instead of ``>= I``, so item 0 is never a hit (HR, NDCG, EO), and
   its hit key ``I`` is its own DP entry.
3. Users without test items: nothing is masked for them, their lists enter DP, HR skips them (0/0)
   and NDCG counts them as 0 (its average runs over all users).
4. "HR" = hits / min(|T_u|, K) and the ideal DCG runs over min(|T_u|, K) positions (natural logs in
   the code: the same ratio).
5. The item id space is whatever the data carry (``keep_raw_ids=True`` for ML-1M's 3,952 raw ids).

Every user of the data is listed in compat mode (the code loops over all ids). Known items of the
user's other splits (train, and valid where the data have one; the official data have none) are
masked for users with test items, as the code masks train and test items in the real half. Masking
uses ``-inf`` where the code uses -1000 (the same unless scores fall below -1000).
"""

from __future__ import annotations

import torch
from torch import nn

from .data.dataset import InteractionData
from .evaluation import dense_rows, evaluate_full_sort
from .metrics import exposure_fairness

PAPER_KS = (10, 20, 30, 40, 50)


def evaluate_fda(
    model: nn.Module,
    data: InteractionData,
    split: str = "test",
    ks: tuple[int, ...] = PAPER_KS,
    fda_compat: bool = False,
    dp_norm: str = "items",
    batch_size: int = 1024,
) -> dict[str, float]:
    """FDA's metrics of ``model`` on ``split``: clean (default) or the official evaluation's."""
    if not fda_compat:
        return evaluate_full_sort(model, data, split, ks=ks, batch_size=batch_size, dp_norm=dp_norm).metrics
    keys, n_relevant = compat_lists(model, data, split, max(ks), batch_size)
    return compat_metrics(keys, n_relevant, data.groups(), data.n_items, ks)


@torch.no_grad()
def compat_lists(
    model: nn.Module, data: InteractionData, split: str, k: int, batch_size: int = 1024
) -> tuple[torch.Tensor, torch.Tensor]:
    """The official code's top-``k`` keys ``[U, k]`` (in ``[0, 2I)``) and each user's ``|T_u|``."""
    was_training = model.training
    model.eval()
    user_repr, item_repr = model.embeddings()
    device = item_repr.device
    relevant = data.split_csr(split)
    others = [name for name in ("train", "valid") if name != split and len(getattr(data, name))]
    known = data.split_csr(*others, split)
    n_relevant = torch.bincount(getattr(data, split)[:, 0], minlength=data.n_users)
    keys = []
    for chunk in torch.arange(data.n_users).split(batch_size):
        scores = user_repr[chunk.to(device)] @ item_repr.T
        is_test = dense_rows(relevant, chunk, data.n_items, device)
        mask = dense_rows(known, chunk, data.n_items, device) & (n_relevant[chunk] > 0).to(device)[:, None]
        halves = torch.cat([scores.masked_fill(mask, float("-inf")), scores.masked_fill(~is_test, float("-inf"))], 1)
        keys.append(torch.topk(halves, k, dim=1).indices.cpu())
    model.train(was_training)
    return torch.cat(keys), n_relevant


def compat_metrics(
    keys: torch.Tensor, n_relevant: torch.Tensor, groups: torch.Tensor, n_items: int, ks: tuple[int, ...]
) -> dict[str, float]:
    """``hr@K``, ``ndcg@K``, ``dp@K``, ``eo@K`` of the official ``test.py`` from its key lists."""
    hits = (keys > n_items).double()  # defect 2: ">" where ">=" was meant
    discount = 1.0 / torch.log2(torch.arange(keys.shape[1], dtype=torch.float64) + 2)
    ideal = torch.cumsum(discount, 0)
    has_test = n_relevant > 0
    out = {}
    for k in ks:
        capped = n_relevant.clamp(max=k)
        found = hits[:, :k].sum(1)
        dcg = (hits[:, :k] * discount[:k]).sum(1)
        out[f"hr@{k}"] = float((found[has_test] / capped[has_test]).mean())
        out[f"ndcg@{k}"] = float(torch.where(has_test, dcg / ideal[(capped - 1).clamp(min=0)], 0.0).mean())
        out.update(exposure_fairness(keys, keys > n_items, groups, 2 * n_items, k))
    return out
