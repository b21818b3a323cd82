"""Online and offline knowledge distillation: SwitOKD (``switokd.md``) and its baselines.

Importing this package registers ``SwitOKD``, ``SwitOKDMulti``, ``Independent``,
``KD`` and ``DML`` in :data:`learn_compress.registry.MODELS`.
"""

from ..registry import MODELS
from .baselines import DML, KD, Independent
from .losses import SwitchState, distillation_gap, hinton_kd_loss, kl_to, label_distance, switch_state, threshold_eps
from .online import DistillConfig, OnlineDistiller
from .switokd import SwitOKD, SwitOKDMulti

for _cls in (SwitOKD, SwitOKDMulti, Independent, KD, DML):
    MODELS.register(_cls.__name__, _cls)

__all__ = [
    "DML",
    "KD",
    "DistillConfig",
    "Independent",
    "OnlineDistiller",
    "SwitOKD",
    "SwitOKDMulti",
    "SwitchState",
    "distillation_gap",
    "hinton_kd_loss",
    "kl_to",
    "label_distance",
    "switch_state",
    "threshold_eps",
]
