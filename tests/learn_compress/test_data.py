"""CIFAR readers on tiny files written here, normalisation, augmentation, subsets and synthetic images."""

import os
import pickle

import numpy as np
import pytest
import torch

from lab_common import DataFormatError
from learn_compress.data import (
    CifarArrays,
    CifarDataset,
    load_cifar_batches,
    load_cifar_npz,
    load_image_arrays,
    make_synthetic_images,
    normalize,
    random_crop_flip,
    stratified_subset,
)
from learn_compress.data.synthetic_images import make_prototypes


def tiny_arrays(n=20, classes=10, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    return images, np.arange(n) % classes


def test_npz_round_trip_with_classes(tmp_path):
    images, labels = tiny_arrays()
    np.savez(tmp_path / "t.npz", images=images, labels=labels, classes=np.array([f"c{i}" for i in range(10)]))
    arrays = load_cifar_npz(tmp_path / "t.npz")
    assert np.array_equal(arrays.images, images) and np.array_equal(arrays.labels, labels)
    assert arrays.labels.dtype == np.int64 and arrays.classes[3] == "c3" and arrays.num_classes == 10


@pytest.mark.parametrize(
    ("change", "key", "found"),
    [
        (lambda im, lb: (im.astype(np.float32), lb), "'images'", "dtype float32"),
        (lambda im, lb: (im[..., 0], lb), "'images'", "shape (20, 32, 32)"),
        (lambda im, lb: (im, np.where(lb == 9, 10, lb)), "'labels', item 9", "label 10"),
        (lambda im, lb: (im, lb[:-1]), "'labels'", "19 labels"),
        (lambda im, lb: (im, lb.astype(np.float64)), "'labels'", "dtype float64"),
    ],
    ids=["float-images", "no-channel-axis", "label-equals-C", "length-mismatch", "float-labels"],
)
def test_npz_rejects_malformed_arrays(tmp_path, change, key, found):
    images, labels = change(*tiny_arrays())
    path = tmp_path / "bad.npz"
    np.savez(path, images=images, labels=labels)
    with pytest.raises(DataFormatError) as info:
        load_cifar_npz(path)
    message = str(info.value)
    assert str(path) in message and key in message and found in message


def test_npz_missing_key_and_not_a_zip(tmp_path):
    images, _ = tiny_arrays()
    np.savez(tmp_path / "nolabels.npz", images=images)
    with pytest.raises(DataFormatError, match="key 'labels'.*found keys \\['images'\\]"):
        load_cifar_npz(tmp_path / "nolabels.npz")
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(DataFormatError, match="junk.npz"):
        load_cifar_npz(tmp_path / "junk.npz")


def write_batches(folder, per_batch=4):
    """A miniature cifar-10-batches-py folder (Python-2 style pickles with byte-string keys)."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    expected = []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        hwc = rng.integers(0, 256, (per_batch, 32, 32, 3), dtype=np.uint8)
        labels = list(rng.integers(0, 10, per_batch))
        data = hwc.transpose(0, 3, 1, 2).reshape(per_batch, 3072)  # row = R plane, G plane, B plane
        with open(folder / name, "wb") as handle:
            pickle.dump({b"batch_label": b"x", b"labels": [int(v) for v in labels], b"data": data}, handle, protocol=2)
        expected.append((name, hwc, labels))
    names = [
        n.encode() for n in ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
    ]
    with open(folder / "batches.meta", "wb") as handle:
        pickle.dump({b"label_names": names, b"num_vis": 3072}, handle, protocol=2)
    return expected


def test_batches_reader_returns_hwc_images_and_labels(tmp_path):
    expected = write_batches(tmp_path / "cifar-10-batches-py")
    train = load_cifar_batches(tmp_path / "cifar-10-batches-py", "train")
    assert train.images.shape == (20, 32, 32, 3) and train.classes[9] == "truck"
    assert np.array_equal(train.images[4:8], expected[1][1])
    assert train.labels.tolist() == sum((e[2] for e in expected[:5]), [])
    test = load_image_arrays(str(tmp_path / "cifar-10-batches-py"), "test")
    assert np.array_equal(test.images, expected[5][1])


def test_batches_reader_refuses_code_and_bad_shapes(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    write_batches(folder)
    with open(folder / "data_batch_3", "wb") as handle:
        pickle.dump({b"data": os.system}, handle, protocol=2)
    with pytest.raises(DataFormatError, match="data_batch_3.*posix.system|data_batch_3.*os.system"):
        load_cifar_batches(folder)
    with open(folder / "data_batch_3", "wb") as handle:
        pickle.dump({b"data": np.zeros((4, 100), np.uint8), b"labels": [0] * 4}, handle, protocol=2)
    with pytest.raises(DataFormatError, match="data_batch_3, key b'data'.*shape \\(4, 100\\)"):
        load_cifar_batches(folder)
    other = tmp_path / "other"
    write_batches(other)
    (other / "data_batch_5").unlink()
    with pytest.raises(DataFormatError, match="data_batch_5.*no such file"):
        load_cifar_batches(other)


def test_normalize_by_hand():
    image = np.zeros((1, 2, 2, 3), np.uint8)
    image[..., 0] = 255
    x = normalize(image, "imagenet")
    assert x.shape == (1, 3, 2, 2) and x.dtype == torch.float32
    assert torch.allclose(x[0, 0], torch.full((2, 2), (1 - 0.485) / 0.229))
    assert torch.allclose(x[0, 2], torch.full((2, 2), -0.406 / 0.225))
    with pytest.raises(KeyError, match="known: cifar10, cifar100, imagenet"):
        normalize(image, "mnist")


def test_random_crop_flip_returns_windows_of_the_padded_image():
    torch.manual_seed(0)
    images = torch.arange(8 * 3 * 32 * 32, dtype=torch.float32).view(8, 3, 32, 32) + 1
    out = random_crop_flip(images, padding=4)
    padded = torch.nn.functional.pad(images, (4, 4, 4, 4))
    for i in range(8):
        windows = [
            w
            for dy in range(9)
            for dx in range(9)
            for w in (padded[i, :, dy : dy + 32, dx : dx + 32], padded[i, :, dy : dy + 32, dx : dx + 32].flip(-1))
        ]
        assert any(torch.equal(out[i], w) for w in windows)
    assert not torch.equal(out, images)


def test_dataset_augmentation_keeps_labels_and_test_mode_is_plain():
    labels = np.arange(30) % 10
    images = np.broadcast_to((20 * labels + 10).astype(np.uint8)[:, None, None, None], (30, 32, 32, 3)).copy()
    arrays = CifarArrays(images, labels.astype(np.int64), tuple(map(str, range(10))))
    train = CifarDataset(arrays, train=True, normalization="cifar10")
    loader = torch.utils.data.DataLoader(train, batch_size=7, shuffle=True, generator=torch.Generator().manual_seed(0))
    padded_somewhere = False
    for x, y in loader:
        assert x.shape[1:] == (3, 32, 32) and x.dtype == torch.float32
        # the centre pixel survives every crop (offsets <= 4): it must still encode the label
        centre = x[:, 0, 16, 16] * 0.2470 + 0.4914
        assert torch.allclose(centre * 255, (20 * y + 10).float(), atol=1e-3)
        padded_somewhere |= bool((x[:, 0] * 0.2470 + 0.4914).abs().lt(1e-6).any())
    assert padded_somewhere  # some crops reached into the zero padding
    test = CifarDataset(arrays, train=False, normalization="cifar10")
    x, y = test[5]
    assert int(y) == 5 and torch.allclose(x, normalize(images[5], "cifar10"))


def test_stratified_subset_is_balanced_seeded_and_not_a_slice():
    labels = np.repeat(np.arange(10), 50)  # sorted by class, like the shared files
    arrays = CifarArrays(np.zeros((500, 32, 32, 3), np.uint8), labels, tuple(map(str, range(10))))
    a = stratified_subset(arrays, 105, seed=0)
    assert np.bincount(a.labels).tolist() == [11] * 5 + [10] * 5
    assert np.array_equal(a.labels[:10], np.arange(10))  # any prefix is balanced too
    b = stratified_subset(arrays, 105, seed=0)
    assert np.array_equal(a.labels, b.labels)
    with pytest.raises(ValueError, match="subset size"):
        stratified_subset(arrays, 501)


def test_synthetic_images_are_balanced_seeded_and_split_by_sample_seed():
    a = make_synthetic_images(200, sample_seed=1)
    b = make_synthetic_images(200, sample_seed=1)
    c = make_synthetic_images(200, sample_seed=2)
    assert a.images.shape == (200, 32, 32, 3) and a.images.dtype == np.uint8
    assert np.bincount(a.labels).tolist() == [20] * 10
    assert np.array_equal(a.images, b.images) and np.array_equal(a.labels, b.labels)
    assert not np.array_equal(a.images, c.images)
    assert 100 < a.images.mean() < 156 and a.images.std() > 30
    with pytest.raises(ValueError, match="multiple of num_classes"):
        make_synthetic_images(205)


def test_synthetic_classes_are_separable_by_prototype_but_overlap():
    """Noise-free, unshifted samples lie nearest their own class's prototypes; overlap blurs that."""

    def nearest_prototype_accuracy(mix_min):
        data = make_synthetic_images(400, modes_per_class=2, noise=0.0, max_shift=0, mix_min=mix_min, sample_seed=3)
        protos = make_prototypes(10, 2).reshape(20, -1)
        x = (data.images.reshape(400, -1).astype(np.float32) - 128) / 48
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        score = x @ (protos / np.linalg.norm(protos, axis=1, keepdims=True)).T
        return float(np.mean(score.argmax(1) // 2 == data.labels))

    assert nearest_prototype_accuracy(1.0) > 0.99
    assert nearest_prototype_accuracy(0.0) < 0.9


def test_image_sources(tmp_path):
    assert len(load_image_arrays("synthetic:100", "test")) == 100
    images, labels = tiny_arrays()
    np.savez(tmp_path / "test.npz", images=images, labels=labels)
    assert len(load_image_arrays(str(tmp_path), "test")) == 20
    assert len(load_image_arrays(str(tmp_path / "test.npz"))) == 20
    with pytest.raises(DataFormatError, match="train.npz or train-20k.npz"):
        load_image_arrays(str(tmp_path), "train")
