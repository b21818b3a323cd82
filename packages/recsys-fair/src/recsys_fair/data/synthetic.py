"""Seeded synthetic interactions with unequal user groups (recsys-common.md, section 5; all assumed).

Items belong to latent topics and have a power-law popularity and a quality; users have a taste that
is partly shared and partly specific to their group (70/30 by default), a popularity sensitivity and
a lognormal activity (the minority is less active). Each user's items are drawn without replacement
with probability proportional to ``exp(logit)`` by Gumbel-top-k over user chunks. Optional
item-entity links follow the item topics and review sentiment follows the item quality, so both
carry signal. The ground truth goes into ``meta["latent"]``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

from .dataset import InteractionData, csr_from_pairs
from .splits import split_leave_one_out, split_random

MODALITY_BUCKETS = (("title", 0.4), ("review", 0.4), ("visual", 0.2))


@dataclass(frozen=True)
class SyntheticConfig:
    """Every knob of the generator; the defaults are sized for CI (600 x 400, about 17k pairs)."""

    n_users: int = 600
    n_items: int = 400
    n_topics: int = 12
    dim: int = 16
    zipf: float = 1.0
    group_ratio: float = 0.3
    group_taste: float = 0.5
    gamma_range: tuple[float, float] = (0.0, 1.5)
    mean_activity: float = 30.0
    minority_activity: float = 0.8
    taste_scale: float = 3.0
    quality_weight: float = 0.5
    entities: bool = True
    n_entities: int = 200
    entities_per_topic: int = 10
    entity_signal: float = 0.8
    reviews: bool = True
    split: str = "random"
    chunk_users: int = 1024

    @classmethod
    def benchmark(cls, **overrides) -> SyntheticConfig:
        """The quick benchmark's size: 2,000 users and 1,000 items."""
        return cls(**{"n_users": 2000, "n_items": 1000, **overrides})


def _sample_items(logits_fn, n_per_user: torch.Tensor, chunk: int, generator: torch.Generator):
    """Gumbel-top-k: each user's ``n_u`` items without replacement, probability proportional to exp(logit)."""
    users, items = [], []
    for start in range(0, len(n_per_user), chunk):
        counts = n_per_user[start : start + chunk]
        logits = logits_fn(start, start + len(counts))
        gumbel = -torch.log(-torch.log(torch.rand(logits.shape, generator=generator).clamp_min(1e-20)))
        top = torch.topk(logits + gumbel, int(counts.max()), dim=1).indices
        keep = torch.arange(top.shape[1]) < counts[:, None]
        users.append((torch.arange(len(counts))[:, None] + start).expand_as(top)[keep])
        items.append(top[keep])
    return torch.stack([torch.cat(users), torch.cat(items)], 1)


def _entities(cfg: SyntheticConfig, topics: torch.Tensor, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Step 7: ``2 + Poisson(4)`` links per item, from its topic's entities with probability ``entity_signal``."""
    n_links = 2 + torch.poisson(torch.full((cfg.n_items,), 4.0), generator=generator).long()
    item = torch.repeat_interleave(torch.arange(cfg.n_items), n_links)
    own = topics[item] * cfg.entities_per_topic + torch.randint(
        cfg.entities_per_topic, (len(item),), generator=generator
    )
    anywhere = torch.randint(cfg.n_entities, (len(item),), generator=generator)
    entity = torch.where(torch.rand(len(item), generator=generator) < cfg.entity_signal, own, anywhere)
    bounds = torch.tensor([0.0] + [share for _, share in MODALITY_BUCKETS]).cumsum(0) * cfg.n_entities
    modality = torch.bucketize(entity.double(), bounds[1:-1], right=True)
    return {
        name: csr_from_pairs(item[modality == m], entity[modality == m], (cfg.n_items, cfg.n_entities))
        for m, (name, _) in enumerate(MODALITY_BUCKETS)
    }


def synthetic_interactions(config: SyntheticConfig | None = None, seed: int = 0) -> InteractionData:
    """Generate a split ``InteractionData`` with feature ``group`` as the sensitive attribute (section 5)."""
    cfg = config or SyntheticConfig()
    if cfg.entities and cfg.n_topics * cfg.entities_per_topic > cfg.n_entities:
        raise ValueError("n_topics * entities_per_topic must not exceed n_entities")
    g = torch.Generator().manual_seed(seed)
    k = cfg.dim
    centres = torch.randn(cfg.n_topics, k, generator=g)
    topics = torch.randint(cfg.n_topics, (cfg.n_items,), generator=g)
    v = centres[topics] + 0.5 * torch.randn(cfg.n_items, k, generator=g)
    rank = torch.randperm(cfg.n_items, generator=g)
    popularity = -cfg.zipf * torch.log(rank.double() + 1)
    popularity = (popularity - popularity.mean()).float()
    quality = torch.randn(cfg.n_items, generator=g)

    group = torch.zeros(cfg.n_users, dtype=torch.long)
    group[torch.randperm(cfg.n_users, generator=g)[: round(cfg.group_ratio * cfg.n_users)]] = 1
    directions = torch.randn(2, k, generator=g)
    s = cfg.group_taste
    z = math.sqrt(1 - s) * torch.randn(cfg.n_users, k, generator=g) + math.sqrt(s) * directions[group]
    low, high = cfg.gamma_range
    gamma = low + (high - low) * torch.rand(cfg.n_users, generator=g)
    mean = torch.where(group == 1, cfg.mean_activity * cfg.minority_activity, cfg.mean_activity)
    activity = torch.exp(torch.log(mean) - 0.125 + 0.5 * torch.randn(cfg.n_users, generator=g))
    n_per_user = torch.round(activity).long().clamp(5, cfg.n_items // 3)

    item_bias = cfg.quality_weight * quality

    def logits(lo: int, hi: int) -> torch.Tensor:
        taste = cfg.taste_scale * (z[lo:hi] @ v.T) / math.sqrt(k)
        return taste + gamma[lo:hi, None] * popularity + item_bias

    pairs = _sample_items(logits, n_per_user, cfg.chunk_users, g)
    timestamps = torch.randint(10**9, (len(pairs),), generator=g)
    entities = _entities(cfg, topics, g) if cfg.entities else None
    reviews = None
    if cfg.reviews:
        total = 5 + torch.poisson(torch.full((cfg.n_items,), 5.0), generator=g)
        positive = torch.binomial(total, torch.sigmoid(1.5 * quality + 1), generator=g)
        reviews = torch.stack([positive, total], 1).long()
    data = InteractionData(
        n_users=cfg.n_users,
        n_items=cfg.n_items,
        train=pairs,
        timestamps={"train": timestamps},
        user_features={"group": group},
        sensitive="group",
        item_entities=entities,
        n_entities=cfg.n_entities if cfg.entities else 0,
        item_reviews=reviews,
        name="synthetic",
        meta={
            "generator": {**asdict(cfg), "seed": seed},
            "latent": {"z": z, "v": v, "b": popularity, "q": quality, "gamma": gamma, "topics": topics},
        },
    )
    if cfg.split == "random":
        return split_random(data, seed=seed)
    if cfg.split == "loo":
        return split_leave_one_out(data, order="random", seed=seed)
    raise ValueError(f"split must be 'random' or 'loo', got {cfg.split!r}")
