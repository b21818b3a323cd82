"""Models of lowlevel-vision, registered by name in :data:`lowlevel_vision.registry.MODELS`.

The stereo model interface (every stereo model follows it, so the trainer, tiled inference, the CLI and
the benchmark treat them alike):

- ``forward(left, right) -> (out_left, out_right)``: views are float (B, 3, H, W) RGB in [0, 1]; one
  (B, 6, H, W) tensor (left = channels 0-2) is also accepted. Rectified pairs: a point at column x in the
  left view is at column x − d (d ≥ 0) in the right view.
- ``size_multiple`` (int): the model pads internally (zero, bottom/right) to this multiple and crops
  back, so any H, W ≥ 1 works; tiled inference uses it to choose tile sizes.
- ``config`` (dict): the constructor arguments; ``MODELS.build(name, **model.config)`` rebuilds the model
  (checkpoints store it).
- ``block_counts`` (dict, optional: ``enc_blocks``, ``middle_blocks``, ``dec_blocks``, ``refine_blocks``):
  lets :meth:`Monocular.matching` build the parameter-matched monocular baseline (vision-common §9).
- No ``.cuda()`` inside; no batch-dependent layers (views may be stacked along the batch).

Subclassing :class:`~lowlevel_vision.models.blocks.StereoModel` and implementing ``forward_padded``
gives the argument handling and padding. Register with ``@MODELS.register("Name")`` in the model's
module and import that module here.
"""

from .blocks import LayerNorm2d, NAFBlock, SimpleGate, StereoModel, pad_to_multiple, split_views
from .monocular import InputModel, Monocular, MonoUNet
from .rlednet import RLEDNet, RLEDNetNoLSRB
from .stereoirr import StereoIRR
from .sufrinnet import SufrinNet

__all__ = [
    "InputModel",
    "LayerNorm2d",
    "MonoUNet",
    "Monocular",
    "NAFBlock",
    "SimpleGate",
    "RLEDNet",
    "RLEDNetNoLSRB",
    "StereoIRR",
    "StereoModel",
    "SufrinNet",
    "pad_to_multiple",
    "split_views",
]
