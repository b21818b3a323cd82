"""Readers of the published folder layouts (vision-common §3).

Each reader lists and pairs files when it is built (a missing partner, unequal counts, odd interleaved
counts and empty folders raise :class:`~lowlevel_vision.io.DatasetError` before anything is read)
and decodes images when a sample is asked for. Clean stereo readers return ``gt_l, gt_r``; paired
readers add ``lq_l, lq_r`` (stereo) or return ``lq, gt`` (mono).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from ..io import DatasetError, list_images, read_disparity
from .base import Record, RecordDataset, Sample, Transform

PathLike = str | os.PathLike


def _folder(path: Path) -> Path:
    if not path.is_dir():
        raise DatasetError(path, None, "a folder", "no such folder")
    return path


def _by_stem(folder: Path) -> dict[str, Path]:
    return {p.stem: p for p in list_images(folder)}


def _same_stem(stem: str, path: Path) -> str:
    return stem


def _pair_by_key(folders: dict[str, Path], key=_same_stem) -> list[tuple[str, dict[str, Path]]]:
    """Pair the images of several folders by ``key(stem, path)``; a file without partner raises."""
    keyed = {role: {key(s, p): p for s, p in _by_stem(folder).items()} for role, folder in folders.items()}
    roles = list(keyed)
    first = keyed[roles[0]]
    counts = {role: len(files) for role, files in keyed.items()}
    if len(set(counts.values())) > 1:
        listing = ", ".join(f"{folders[role]}: {count}" for role, count in counts.items())
        raise DatasetError(folders[roles[0]], None, "the same number of images in every folder", listing)
    for role in roles:
        for other in roles:
            missing = sorted(set(keyed[role]) - set(keyed[other]), key=str)
            if missing:
                path = keyed[role][missing[0]]
                raise DatasetError(path, None, f"a partner file in {folders[other]}", "none (missing partner)")
    keys = sorted(first, key=_natural_key)
    return [(str(k), {role: keyed[role][k] for role in roles}) for k in keys]


def _natural_key(value) -> tuple:
    text = str(value)
    return (0, int(text), "") if text.isdigit() else (1, 0, text)


class Flickr1024(RecordDataset):
    """Flickr1024 ``<root>/{Train,Validation,Test}/NNNN_L.png`` + ``NNNN_R.png``, paired by prefix."""

    SPLITS = ("Train", "Validation", "Test")

    def __init__(self, root: PathLike, split: str = "Train", transform: Transform | None = None, **kwargs):
        if split not in self.SPLITS:
            raise ValueError(f"split must be one of {self.SPLITS}, got {split!r}")
        folder = _folder(Path(root) / split)
        views: dict[str, dict[str, Path]] = {"L": {}, "R": {}}
        for path in list_images(folder):
            match = re.fullmatch(r"(.+)_([LR])", path.stem)
            if match is None:
                raise DatasetError(path, "file name", "NNNN_L or NNNN_R", path.name)
            views[match.group(2)][match.group(1)] = path
        records = []
        for side, other in (("L", "R"), ("R", "L")):
            for prefix, path in views[side].items():
                if prefix not in views[other]:
                    raise DatasetError(path, None, f"its partner {prefix}_{other}{path.suffix} in {folder}", "none")
        for prefix in sorted(views["L"], key=_natural_key):
            records.append(Record(prefix, {"gt_l": views["L"][prefix], "gt_r": views["R"][prefix]}))
        super().__init__(records, transform, **kwargs)


class KITTIStereo(RecordDataset):
    """KITTI 2012 (``colored_0``/``colored_1``) and 2015 (``image_2``/``image_3``) colour stereo pairs.

    ``frames`` keeps files ending in ``_10`` and/or ``_11``; left and right pair by identical name.
    """

    FOLDERS = {2012: ("colored_0", "colored_1"), 2015: ("image_2", "image_3")}

    def __init__(
        self,
        root: PathLike,
        year: int = 2015,
        split: str = "training",
        frames: Sequence[str] = ("10",),
        transform: Transform | None = None,
        **kwargs,
    ):
        if year not in self.FOLDERS:
            raise ValueError(f"year must be 2012 or 2015, got {year!r}")
        left, right = (_folder(Path(root) / split / name) for name in self.FOLDERS[year])
        pairs = _pair_by_key({"gt_l": left, "gt_r": right})
        records = [Record(name, files) for name, files in pairs if name.rsplit("_", 1)[-1] in frames]
        if not records:
            raise DatasetError(left, None, f"files with frame suffix {'/'.join(frames)}", "none")
        super().__init__(records, transform, **kwargs)


class Middlebury(RecordDataset):
    """Middlebury scenes: one folder each with ``im0.png``/``im1.png`` (2014+) or ``view1.png``/``view5.png``.

    ``with_disparity=True`` also reads ``disp0.pfm`` (2014) or ``disp1.png`` (2005/2006) as ``disp_l``
    (invalid pixels ``nan``).
    """

    NAMES = (("im0", "im1", "disp0.pfm"), ("view1", "view5", "disp1.png"))

    def __init__(self, root: PathLike, with_disparity: bool = False, transform: Transform | None = None, **kwargs):
        root = _folder(Path(root))
        records = []
        for scene in sorted(p for p in root.iterdir() if p.is_dir()):
            records.append(self._scene(scene, with_disparity))
        if not records:
            raise DatasetError(root, None, "scene folders", "none")
        super().__init__(records, transform, **kwargs)

    def _scene(self, scene: Path, with_disparity: bool) -> Record:
        for left, right, disp in self.NAMES:
            found = {s: scene / f"{s}.png" for s in (left, right)}
            if found[left].is_file() or found[right].is_file():
                for a, b in ((left, right), (right, left)):
                    if not found[b].is_file():
                        raise DatasetError(found[a], None, f"its partner {found[b]}", "none")
                extra = {"disp_l": scene / disp} if with_disparity else {}
                if with_disparity and not extra["disp_l"].is_file():
                    raise DatasetError(extra["disp_l"], None, "a disparity file", "none")
                return Record(scene.name, {"gt_l": found[left], "gt_r": found[right]}, extra=extra)
        raise DatasetError(scene, None, "im0.png/im1.png or view1.png/view5.png", "neither")

    def read_extra(self, record: Record) -> Sample:
        return {key: read_disparity(path) for key, path in record.extra.items()}


class StereoSRFolders(RecordDataset):
    """iPASSR/NAFSSR layout ``<root>/<scene>/hr0.png``, ``hr1.png`` (``lr0/lr1`` ignored)."""

    def __init__(self, root: PathLike, transform: Transform | None = None, **kwargs):
        root = _folder(Path(root))
        records = []
        for scene in sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: _natural_key(p.name)):
            files = {"gt_l": scene / "hr0.png", "gt_r": scene / "hr1.png"}
            for role, other in (("gt_l", "gt_r"), ("gt_r", "gt_l")):
                if files[role].is_file() and not files[other].is_file():
                    raise DatasetError(files[role], None, f"its partner {files[other]}", "none")
            if files["gt_l"].is_file():
                records.append(Record(scene.name, files))
        if not records:
            raise DatasetError(root, None, "scene folders with hr0.png and hr1.png", "none")
        super().__init__(records, transform, **kwargs)


class SufrinNetFolders(RecordDataset):
    """SufrinNet's layout: ``train/{low,gt}/*``, ``test/<subset>/{low,gt}/*`` (sufrinnet.md §4).

    Files are sorted lexicographically; even positions are left views, odd positions right views, the
    same in ``low`` and ``gt``. ``subset=None`` on the test split reads every subset in sorted order and
    labels each sample with its subset (``sample["subset"]``).
    """

    def __init__(
        self,
        root: PathLike,
        split: str = "train",
        subset: str | None = None,
        transform: Transform | None = None,
        **kwargs,
    ):
        root = Path(root)
        if split == "train":
            groups = [(None, _folder(root / "train"))]
        elif split == "test":
            test = _folder(root / "test")
            names = [subset] if subset else sorted(p.name for p in test.iterdir() if p.is_dir())
            if not names:
                raise DatasetError(test, None, "subset folders", "none")
            groups = [(name, _folder(test / name)) for name in names]
        else:
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        records = [record for label, folder in groups for record in self._interleaved(folder, label)]
        super().__init__(records, transform, **kwargs)

    @staticmethod
    def _interleaved(folder: Path, label: str | None) -> list[Record]:
        low, gt = list_images(_folder(folder / "low")), list_images(_folder(folder / "gt"))
        low.sort(key=lambda p: p.name)
        gt.sort(key=lambda p: p.name)
        if len(low) != len(gt):
            raise DatasetError(
                folder, None, f"as many files in {folder / 'low'} as in {folder / 'gt'}", f"{len(low)} and {len(gt)}"
            )
        if len(low) % 2:
            raise DatasetError(
                folder / "low", None, "an even number of files (left/right interleaved)", f"{len(low)} files"
            )
        records = []
        for i in range(0, len(low), 2):
            files = {"lq_l": low[i], "lq_r": low[i + 1], "gt_l": gt[i], "gt_r": gt[i + 1]}
            name = low[i].stem if label is None else f"{label}/{low[i].stem}"
            records.append(Record(name, files, label=label))
        return records


class StereoRainFolders(RecordDataset):
    """``<root>/<split>/<folder>/<name>.png`` in four folders (RainKITTI / StereoCityscapes loaders).

    Pairing by identical file name; names sorted numerically when all stems are integers.
    """

    def __init__(
        self,
        root: PathLike,
        split: str = "training",
        folders: Sequence[str] = ("left_input", "left_target", "right_input", "right_target"),
        transform: Transform | None = None,
        **kwargs,
    ):
        base = _folder(Path(root) / split)
        roles = ("lq_l", "gt_l", "lq_r", "gt_r")
        pairs = _pair_by_key({role: _folder(base / name) for role, name in zip(roles, folders, strict=True)})
        super().__init__([Record(name, files) for name, files in pairs], transform, **kwargs)


class StereoPairedFolders(RecordDataset):
    """Any four folders (degraded left/right, clean left/right), paired by identical stem."""

    def __init__(
        self,
        lq_left: PathLike,
        lq_right: PathLike,
        gt_left: PathLike,
        gt_right: PathLike,
        transform: Transform | None = None,
        **kwargs,
    ):
        folders = {"lq_l": Path(lq_left), "lq_r": Path(lq_right), "gt_l": Path(gt_left), "gt_r": Path(gt_right)}
        pairs = _pair_by_key({role: _folder(path) for role, path in folders.items()})
        super().__init__([Record(name, files) for name, files in pairs], transform, **kwargs)


class PairedFolder(RecordDataset):
    """Two folders of degraded and clean single images (``lq``, ``gt``).

    ``match="stem"``: identical stem; ``"number"``: the integer in the stem (``low00001`` ↔ ``normal00001``);
    ``"sorted"`` (opt-in): by position, the counts must be equal.
    """

    def __init__(
        self, lq_dir: PathLike, gt_dir: PathLike, match: str = "stem", transform: Transform | None = None, **kwargs
    ):
        lq_dir, gt_dir = _folder(Path(lq_dir)), _folder(Path(gt_dir))
        if match == "sorted":
            lq, gt = list_images(lq_dir), list_images(gt_dir)
            if len(lq) != len(gt):
                raise DatasetError(lq_dir, None, f"as many files as in {gt_dir}", f"{len(lq)} and {len(gt)}")
            records = [Record(a.stem, {"lq": a, "gt": b}) for a, b in zip(lq, gt, strict=True)]
        elif match in ("stem", "number"):
            key = _stem_number if match == "number" else _same_stem
            pairs = _pair_by_key({"lq": lq_dir, "gt": gt_dir}, key=key)
            records = [Record(files["lq"].stem, files) for _, files in pairs]
        else:
            raise ValueError(f"match must be 'stem', 'number' or 'sorted', got {match!r}")
        super().__init__(records, transform, **kwargs)


def _stem_number(stem: str, path: Path) -> int:
    digits = re.findall(r"\d+", stem)
    if len(digits) != 1:
        raise DatasetError(path, "file name", "exactly one integer in the name", repr(stem))
    return int(digits[0])


class LOL(PairedFolder):
    """LOL v1 (``our485`` / ``eval15`` with ``low``/``high``) and v2-real (``{Train,Test}/{Low,Normal}``)."""

    def __init__(
        self, root: PathLike, version: str = "v1", split: str = "train", transform: Transform | None = None, **kwargs
    ):
        root = Path(root)
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        if version == "v1":
            base = root / ("our485" if split == "train" else "eval15")
            super().__init__(base / "low", base / "high", "stem", transform, **kwargs)
        elif version == "v2-real":
            nested = root / "Real_captured"
            base = (nested if nested.is_dir() else root) / split.capitalize()
            super().__init__(base / "Low", base / "Normal", "number", transform, **kwargs)
        else:
            raise ValueError(f"version must be 'v1' or 'v2-real', got {version!r}")


class LSRW(PairedFolder):
    """LSRW ``<root>/<camera>/{low,high}``, paired by identical name."""

    def __init__(self, root: PathLike, camera: str = "Huawei", transform: Transform | None = None, **kwargs):
        if camera not in ("Huawei", "Nikon"):
            raise ValueError(f"camera must be 'Huawei' or 'Nikon', got {camera!r}")
        base = Path(root) / camera
        super().__init__(base / "low", base / "high", "stem", transform, **kwargs)


class StereoFiles(RecordDataset):
    """Clean stereo pairs given as explicit ``(left, right)`` file paths (e.g. ``motorcycle_left.png``)."""

    def __init__(self, pairs: Sequence[tuple[PathLike, PathLike]], transform: Transform | None = None, **kwargs):
        records = []
        for left, right in pairs:
            for path in (Path(left), Path(right)):
                if not path.is_file():
                    raise DatasetError(path, None, "an image file", "no such file")
            records.append(Record(Path(left).stem, {"gt_l": Path(left), "gt_r": Path(right)}))
        if not records:
            raise ValueError("StereoFiles needs at least one (left, right) pair")
        super().__init__(records, transform, **kwargs)
