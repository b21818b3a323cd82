"""lowlevel-vision: stereo and real-world low-light image restoration.

Methods: StereoIRR (stereo image rain removal), SufrinNet (low-light stereo
enhancement), RLED-Net (real-world low-light enhancement and denoising), with a
monocular baseline. The shared foundation (vision-common): readers of published
stereo and paired layouts, degradation synthesis, layered synthetic stereo scenes,
PSNR/SSIM protocols, tiled inference, the trainer and the benchmark.
"""

__version__ = "0.1.0"

from .data import (  # noqa: E402
    LOL,
    LSRW,
    Flickr1024,
    KITTIStereo,
    LayeredStereoScenes,
    LowLight,
    Middlebury,
    PairedFolder,
    StereoPairedFolders,
    StereoRain,
    StereoRainFolders,
    StereoSRFolders,
    SufrinNetFolders,
    SyntheticMono,
    SyntheticStereo,
)
from .io import DatasetError, read_image, write_png  # noqa: E402
from .losses import charbonnier_loss, frequency_l1, total_variation  # noqa: E402
from .metrics import psnr, ssim, stereo_metrics  # noqa: E402
from .models import InputModel, Monocular, MonoUNet, RLEDNet, RLEDNetNoLSRB, StereoIRR, SufrinNet  # noqa: E402
from .registry import MODELS  # noqa: E402
from .tiling import tiled_forward  # noqa: E402
from .training import TrainConfig, Trainer  # noqa: E402

__all__ = [
    "LOL",
    "LSRW",
    "MODELS",
    "DatasetError",
    "Flickr1024",
    "InputModel",
    "KITTIStereo",
    "LayeredStereoScenes",
    "LowLight",
    "Middlebury",
    "MonoUNet",
    "Monocular",
    "PairedFolder",
    "StereoPairedFolders",
    "StereoRain",
    "StereoRainFolders",
    "StereoSRFolders",
    "RLEDNet",
    "RLEDNetNoLSRB",
    "StereoIRR",
    "SufrinNet",
    "SufrinNetFolders",
    "SyntheticMono",
    "SyntheticStereo",
    "TrainConfig",
    "Trainer",
    "__version__",
    "charbonnier_loss",
    "frequency_l1",
    "total_variation",
    "psnr",
    "read_image",
    "ssim",
    "stereo_metrics",
    "tiled_forward",
    "write_png",
]
