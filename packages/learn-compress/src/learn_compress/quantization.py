"""Fake quantization of a trained classifier: the quantizer of AdaSG/GDFQ (ZeroQ modules).

Specification: ``papers/adasg.md`` section 1.3 (official code: the ZeroQ quantizer files
shipped with ``hfutqian/AdaSG``).

- :func:`fake_quantize` is the uniform asymmetric affine quantizer with ``k`` bits on the
  range ``[lo, hi]``::

      n = 2^k - 1;  s = n / max(hi - lo, 1e-8);  z = round(s lo) + 2^(k-1)
      qi = clamp(round(s x - z), -2^(k-1), 2^(k-1) - 1);  x_hat = (qi + z) / s

  with a pure straight-through backward (``d x_hat / d x = 1`` everywhere, no clipping
  mask, no gradient to ``lo``/``hi``). Because ``z`` is an integer, ``x = 0`` maps back to
  exactly 0 whenever ``lo <= 0 <= hi``.
- :class:`UniformAffineQuantizer` quantizes weights per output channel (range = min/max of
  each row of ``W.view(out, -1)``, recomputed from the detached weights at every forward).
- :class:`ActQuant` quantizes activations per tensor with a range tracked by an EMA while
  calibrating and frozen otherwise.
- :func:`quantize_model` swaps ``nn.Conv2d``/``nn.Linear``/``nn.ReLU``/``nn.ReLU6`` (by exact
  type) and keeps batch norm in full precision, unfolded.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from lab_common import LabError

logger = logging.getLogger(__name__)

EMA_MODES = ("official", "standard", "minmax")


class ConfigError(LabError, ValueError):
    """A quantization or training configuration that would give meaningless results."""


def _check_bits(bits: int) -> None:
    if not isinstance(bits, int) or not 2 <= bits <= 16:
        raise ConfigError(f"bit width must be an integer in [2, 16], got {bits!r}")


def affine_params(lo: torch.Tensor, hi: torch.Tensor, bits: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Scale ``s = (2^k - 1) / max(hi - lo, 1e-8)`` and integer zero point ``z = round(s lo) + 2^(k-1)``."""
    scale = (2**bits - 1) / (hi - lo).clamp_min(1e-8)
    zero = torch.round(scale * lo) + 2 ** (bits - 1)
    return scale, zero


def quantize_int(x: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, bits: int) -> torch.Tensor:
    """The integer codes ``qi`` in ``[-2^(k-1), 2^(k-1) - 1]`` (``lo``/``hi`` broadcast against ``x``)."""
    scale, zero = affine_params(lo, hi, bits)
    return torch.clamp(torch.round(scale * x - zero), -(2 ** (bits - 1)), 2 ** (bits - 1) - 1)


def fake_quantize(x: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, bits: int) -> torch.Tensor:
    """Quantize-dequantize ``x`` on ``[lo, hi]`` with a straight-through (identity) gradient."""
    lo, hi = lo.detach(), hi.detach()
    scale, zero = affine_params(lo, hi, bits)
    x_hat = (quantize_int(x.detach(), lo, hi, bits) + zero) / scale
    return x_hat + (x - x.detach())  # forward value exactly x_hat, gradient exactly 1


class UniformAffineQuantizer(nn.Module):
    """Weight fake-quantizer: per output channel (``per_channel=True``) or per tensor.

    The range is the min/max of the detached tensor (of each row of ``W.view(out, -1)``
    per channel); ``symmetric=True`` uses ``[-max|W|, max|W|]`` instead.
    """

    def __init__(self, bits: int, per_channel: bool = True, symmetric: bool = False):
        super().__init__()
        _check_bits(bits)
        self.bits = bits
        self.per_channel = per_channel
        self.symmetric = symmetric

    def range_of(self, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        flat = w.detach().reshape(w.shape[0], -1) if self.per_channel else w.detach().reshape(1, -1)
        if self.symmetric:
            bound = flat.abs().amax(dim=1)
            lo, hi = -bound, bound
        else:
            lo, hi = flat.amin(dim=1), flat.amax(dim=1)
        shape = (-1,) + (1,) * (w.dim() - 1)
        return lo.reshape(shape), hi.reshape(shape)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        lo, hi = self.range_of(w)
        return fake_quantize(w, lo, hi, self.bits)

    def extra_repr(self) -> str:
        return f"bits={self.bits}, per_channel={self.per_channel}, symmetric={self.symmetric}"


class ActQuant(nn.Module):
    """Per-tensor activation fake-quantizer with an EMA-tracked range (``papers/adasg.md`` 1.3).

    Buffers ``x_min``, ``x_max`` (init 0), ``beta_t`` (init 1) and ``updates``. While
    ``calibrating`` each forward first updates the range, then quantizes with it:

    - ``official`` (the release): ``beta_t <- beta_t * beta``;
      ``x_max <- (x_max * beta + max(x) * (1 - beta)) / (1 - beta_t)`` (likewise ``x_min``).
      The bias correction is applied to an already corrected value, so the range overshoots
      (a constant input of max 1 gives 1.0, 5.263, ... ~3945 after 21 updates) and settles
      only after ~150 updates.
    - ``standard``: an uncorrected accumulator ``m <- beta m + (1 - beta) v`` is kept and the
      range is ``m / (1 - beta_t)``.
    - ``minmax``: the running min of the minima and max of the maxima (naive PTQ).

    With ``calibrating=False`` (the default, and always at evaluation) the range is frozen.
    Before any update the range is ``[0, 0]`` and the output is (close to) zero, as in the
    release.
    """

    def __init__(self, bits: int, ema_beta: float = 0.9, ema_mode: str = "official"):
        super().__init__()
        _check_bits(bits)
        if ema_mode not in EMA_MODES:
            raise ConfigError(f"ema_mode must be one of {EMA_MODES}, got {ema_mode!r}")
        if not 0.0 < ema_beta < 1.0:
            raise ConfigError(f"ema_beta must be in (0, 1), got {ema_beta}")
        self.bits = bits
        self.ema_beta = ema_beta
        self.ema_mode = ema_mode
        self.calibrating = False
        self.register_buffer("x_min", torch.zeros(()))
        self.register_buffer("x_max", torch.zeros(()))
        self.register_buffer("acc_min", torch.zeros(()))
        self.register_buffer("acc_max", torch.zeros(()))
        self.register_buffer("beta_t", torch.ones(()))
        self.register_buffer("updates", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def update_range(self, x: torch.Tensor) -> None:
        """One calibration update of ``[x_min, x_max]`` from the batch ``x``."""
        batch_min, batch_max = x.detach().min().to(self.x_min), x.detach().max().to(self.x_max)
        beta = self.ema_beta
        if self.ema_mode == "minmax":
            first = self.updates == 0
            self.x_min.copy_(torch.where(first, batch_min, torch.minimum(self.x_min, batch_min)))
            self.x_max.copy_(torch.where(first, batch_max, torch.maximum(self.x_max, batch_max)))
        elif self.ema_mode == "official":
            self.beta_t.mul_(beta)
            self.x_min.copy_((self.x_min * beta + batch_min * (1 - beta)) / (1 - self.beta_t))
            self.x_max.copy_((self.x_max * beta + batch_max * (1 - beta)) / (1 - self.beta_t))
        else:
            self.beta_t.mul_(beta)
            self.acc_min.mul_(beta).add_(batch_min * (1 - beta))
            self.acc_max.mul_(beta).add_(batch_max * (1 - beta))
            self.x_min.copy_(self.acc_min / (1 - self.beta_t))
            self.x_max.copy_(self.acc_max / (1 - self.beta_t))
        self.updates.add_(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.calibrating:
            self.update_range(x)
        return fake_quantize(x, self.x_min, self.x_max, self.bits)

    def extra_repr(self) -> str:
        return f"bits={self.bits}, ema_beta={self.ema_beta}, ema_mode={self.ema_mode!r}"


class QuantConv2d(nn.Conv2d):
    """``nn.Conv2d`` whose weight is fake-quantized per output channel at every forward (bias kept FP)."""

    def __init__(self, *args, wbits: int = 4, **kwargs):
        super().__init__(*args, **kwargs)
        self.weight_quant = UniformAffineQuantizer(wbits, per_channel=True)

    @classmethod
    def from_float(cls, conv: nn.Conv2d, wbits: int) -> QuantConv2d:
        q = cls(
            conv.in_channels,
            conv.out_channels,
            conv.kernel_size,
            stride=conv.stride,
            padding=conv.padding,
            dilation=conv.dilation,
            groups=conv.groups,
            bias=conv.bias is not None,
            padding_mode=conv.padding_mode,
            wbits=wbits,
            device=conv.weight.device,
            dtype=conv.weight.dtype,
        )
        q.load_state_dict(conv.state_dict())
        return q

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.weight_quant(self.weight), self.bias)


class QuantLinear(nn.Linear):
    """``nn.Linear`` whose weight is fake-quantized per output row at every forward (bias kept FP)."""

    def __init__(self, *args, wbits: int = 4, **kwargs):
        super().__init__(*args, **kwargs)
        self.weight_quant = UniformAffineQuantizer(wbits, per_channel=True)

    @classmethod
    def from_float(cls, linear: nn.Linear, wbits: int) -> QuantLinear:
        q = cls(
            linear.in_features,
            linear.out_features,
            bias=linear.bias is not None,
            wbits=wbits,
            device=linear.weight.device,
            dtype=linear.weight.dtype,
        )
        q.load_state_dict(linear.state_dict())
        return q

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight_quant(self.weight), self.bias)


def quantize_model(
    model: nn.Module,
    wbits: int,
    abits: int,
    quantize_first_last: bool = True,
    ema_beta: float = 0.9,
    ema_mode: str = "official",
) -> nn.Module:
    """A fake-quantized copy of ``model`` (``papers/adasg.md`` 1.3; ``model`` itself is untouched).

    By exact type: ``nn.Conv2d`` -> :class:`QuantConv2d`, ``nn.Linear`` -> :class:`QuantLinear`
    (weights copied), ``nn.ReLU``/``nn.ReLU6`` -> ``Sequential(relu, ActQuant(abits))``.
    Batch norm stays in full precision and is not folded; the input image is not quantized.
    ``quantize_first_last=False`` keeps the first and the last weight layer (in module order)
    in full precision. A ReLU module used at several places shares one activation range, so
    networks should give every ReLU site its own module.
    """
    _check_bits(wbits)
    _check_bits(abits)
    quantized = copy.deepcopy(model)
    weight_layers = [name for name, m in quantized.named_modules() if type(m) in (nn.Conv2d, nn.Linear)]
    keep_fp = set() if quantize_first_last or not weight_layers else {weight_layers[0], weight_layers[-1]}
    replacements: list[tuple[str, nn.Module]] = []
    for name, module in quantized.named_modules():
        kind = type(module)
        if kind is nn.Conv2d and name not in keep_fp:
            replacements.append((name, QuantConv2d.from_float(module, wbits)))
        elif kind is nn.Linear and name not in keep_fp:
            replacements.append((name, QuantLinear.from_float(module, wbits)))
        elif kind in (nn.ReLU, nn.ReLU6):
            act = ActQuant(abits, ema_beta=ema_beta, ema_mode=ema_mode).to(_module_device(quantized))
            replacements.append((name, nn.Sequential(module, act)))
    for name, new in replacements:
        parent_name, _, child = name.rpartition(".")
        setattr(quantized.get_submodule(parent_name) if parent_name else quantized, child, new)
    if not replacements:
        logger.warning("quantize_model found no Conv2d, Linear or ReLU module to quantize")
    return quantized


def _module_device(model: nn.Module) -> torch.device:
    tensor = next(iter(model.parameters()), None)
    if tensor is None:
        tensor = next(iter(model.buffers()), None)
    return tensor.device if tensor is not None else torch.device("cpu")


def activation_quantizers(model: nn.Module) -> list[ActQuant]:
    """Every :class:`ActQuant` of ``model``, in module order."""
    return [m for m in model.modules() if isinstance(m, ActQuant)]


def set_calibrating(model: nn.Module, calibrating: bool) -> None:
    """Unfreeze (``True``: ranges update at every forward) or freeze (``False``) all activation ranges."""
    for act in activation_quantizers(model):
        act.calibrating = calibrating


def freeze_activation_ranges(model: nn.Module) -> None:
    set_calibrating(model, False)


def unfreeze_activation_ranges(model: nn.Module) -> None:
    set_calibrating(model, True)


@torch.no_grad()
def calibrate(model: nn.Module, batches: Iterable[torch.Tensor]) -> int:
    """Forward ``batches`` through ``model`` in eval mode with ranges unfrozen, then freeze them.

    Returns the number of batches seen. Used by post-training quantization (:class:`MinMax`).
    """
    was_training = model.training
    model.eval()
    set_calibrating(model, True)
    seen = 0
    try:
        for batch in batches:
            model(batch)
            seen += 1
    finally:
        set_calibrating(model, False)
        model.train(was_training)
    return seen
