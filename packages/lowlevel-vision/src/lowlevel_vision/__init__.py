"""lowlevel-vision: stereo and real-world low-light image restoration.

Methods: StereoIRR (stereo image rain removal), SufrinNet (low-light stereo
enhancement), RLED-Net (real-world low-light enhancement and denoising), with a
monocular baseline.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
