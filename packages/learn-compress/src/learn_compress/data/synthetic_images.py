"""Seeded synthetic 10-class images (shapes and textures): the default data of examples, tests and the quick suite.

Implements the assumed design of ``compress-common.md`` section 2. A *world*
(fixed by ``world_seed``) holds, for each class and each of ``modes_per_class``
modes, a prototype image: the sum of 4 oriented sinusoidal gratings (1-4 cycles
per image, random phase, orientation and RGB colour) plus one Gaussian blob of
random colour, standardised to zero mean and unit std. A sample (seeded by
``sample_seed``) picks a mode of its class uniformly, mixes it with a random
mode of a random other class (``w * P_own + (1 - w) * P_other``, ``w ~ U[mix_min, 1]``:
class overlap, so the task has a non-zero Bayes error and soft targets carry
information), shifts it circularly by up to ``max_shift`` pixels, scales its
contrast by U[0.7, 1.3], adds Gaussian noise of std ``noise`` and is quantised
as ``uint8(clip(128 + 48 x, 0, 255))``.

Train and test splits share ``world_seed`` and differ in ``sample_seed``. The
defaults (``mix_min=0.5``, ``noise=1.0``) are the specification's starting
values; they have not yet been tuned against the SwitOKD CPU recipe.
"""

from __future__ import annotations

import numpy as np

from .cifar import CifarArrays

GRATINGS_PER_PROTOTYPE = 4


def make_prototypes(
    num_classes: int = 10, modes_per_class: int = 8, image_size: int = 32, world_seed: int = 0
) -> np.ndarray:
    """The world: float32 prototypes ``[num_classes, modes_per_class, H, W, 3]``, each zero mean, unit std."""
    rng = np.random.default_rng(world_seed)
    shape = (num_classes, modes_per_class, GRATINGS_PER_PROTOTYPE)
    freq = rng.uniform(1.0, 4.0, shape)
    theta = rng.uniform(0.0, np.pi, shape)
    phase = rng.uniform(0.0, 2 * np.pi, shape)
    colour = rng.normal(size=(*shape, 3))
    coords = np.arange(image_size) / image_size
    y, x = np.meshgrid(coords, coords, indexing="ij")  # [H, W]
    along = x * np.cos(theta)[..., None, None] + y * np.sin(theta)[..., None, None]  # [C, M, G, H, W]
    waves = np.sin(2 * np.pi * freq[..., None, None] * along + phase[..., None, None])
    prototypes = np.einsum("cmghw,cmgk->cmhwk", waves, colour)
    centre = rng.uniform(0.2, 0.8, (num_classes, modes_per_class, 2))
    sigma = rng.uniform(0.08, 0.2, (num_classes, modes_per_class))
    blob_colour = rng.normal(size=(num_classes, modes_per_class, 3)) * 2.0
    dist2 = (y - centre[..., 0, None, None]) ** 2 + (x - centre[..., 1, None, None]) ** 2
    blob = np.exp(-dist2 / (2 * sigma[..., None, None] ** 2))
    prototypes = prototypes + blob[..., None] * blob_colour[:, :, None, None, :]
    mean = prototypes.mean(axis=(2, 3, 4), keepdims=True)
    std = prototypes.std(axis=(2, 3, 4), keepdims=True)
    return ((prototypes - mean) / std).astype(np.float32)


def make_synthetic_images(
    n: int = 2000,
    num_classes: int = 10,
    image_size: int = 32,
    modes_per_class: int = 8,
    mix_min: float = 0.5,
    noise: float = 1.0,
    max_shift: int = 4,
    world_seed: int = 0,
    sample_seed: int = 1,
) -> CifarArrays:
    """``n`` images (exactly ``n / num_classes`` per class) as :class:`CifarArrays`, sorted by nothing (shuffled).

    ``mix_min=1`` disables class overlap; ``modes_per_class``, ``noise`` and
    ``max_shift`` set the difficulty.
    """
    if n % num_classes:
        raise ValueError(f"n must be a multiple of num_classes ({num_classes}) for balanced classes, got {n}")
    if not 0.0 <= mix_min <= 1.0:
        raise ValueError(f"mix_min must be in [0, 1], got {mix_min}")
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    prototypes = make_prototypes(num_classes, modes_per_class, image_size, world_seed)
    rng = np.random.default_rng(sample_seed)
    labels = rng.permutation(np.arange(n) % num_classes)
    mode = rng.integers(0, modes_per_class, n)
    other = (labels + rng.integers(1, num_classes, n)) % num_classes  # uniform over the other classes
    other_mode = rng.integers(0, modes_per_class, n)
    w = rng.uniform(mix_min, 1.0, n).astype(np.float32)[:, None, None, None]
    images = w * prototypes[labels, mode] + (1 - w) * prototypes[other, other_mode]
    dy, dx = rng.integers(-max_shift, max_shift + 1, (2, n))
    rows = (np.arange(image_size) - dy[:, None]) % image_size  # circular shift, vectorised by gather
    cols = (np.arange(image_size) - dx[:, None]) % image_size
    images = images[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
    images *= rng.uniform(0.7, 1.3, n).astype(np.float32)[:, None, None, None]
    images += noise * rng.standard_normal(images.shape, dtype=np.float32)
    pixels = np.clip(np.rint(128.0 + 48.0 * images), 0, 255).astype(np.uint8)
    classes = tuple(f"class{c}" for c in range(num_classes))
    return CifarArrays(pixels, labels.astype(np.int64), classes)
