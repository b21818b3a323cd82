import torch

from lowlevel_vision.data import LayeredStereoScenes, SyntheticMono, SyntheticStereo, sample_generator


def test_warp_consistency_occlusion_and_range():
    scenes = LayeredStereoScenes(6, (32, 64), seed=11)
    fractions = []
    for i in range(len(scenes)):
        s = scenes[i]
        width = 64
        x = torch.arange(width)
        warped = s["gt_r"].gather(-1, (x - s["disp_l"].long()).clamp(0, width - 1).expand(3, -1, -1))
        assert (warped - s["gt_l"])[:, ~s["occ_l"]].abs().max() == 0
        back = s["gt_l"].gather(-1, (x + s["disp_r"].long()).clamp(0, width - 1).expand(3, -1, -1))
        assert (back - s["gt_r"])[:, ~s["occ_r"]].abs().max() == 0
        assert s["disp_l"].min() >= 2 and s["disp_l"].max() <= 16
        fractions.append(s["occ_l"].float().mean())
    mean = float(torch.stack(fractions).mean())
    assert 0.01 <= mean <= 0.5


def test_same_index_same_scene_and_batch_equals_items():
    scenes = LayeredStereoScenes(4, (16, 32), seed=1)
    assert torch.equal(scenes[2]["gt_l"], scenes[2]["gt_l"])
    assert not torch.equal(scenes[2]["gt_l"], scenes[3]["gt_l"])
    batch = scenes.render([sample_generator(1, i) for i in range(4)])
    for i in range(4):
        item = scenes[i]
        for key in ("gt_l", "gt_r", "disp_l", "occ_r"):
            assert torch.equal(batch[key][i], item[key])


def test_synthetic_stereo_has_all_keys_and_epoch_dependence():
    data = SyntheticStereo("lowlight", "stereo_bench", n=3, size=(16, 32), seed=2, fixed=False)
    sample = data[1]
    assert set(sample) >= {"lq_l", "lq_r", "gt_l", "gt_r", "disp_l", "disp_r", "occ_l", "occ_r", "degradation"}
    data.set_epoch(5)
    later = data[1]
    assert torch.equal(later["gt_l"], sample["gt_l"]) and not torch.equal(later["lq_l"], sample["lq_l"])
    mono = SyntheticMono(n=2, size=(16, 32))[0]
    assert set(mono) >= {"lq", "gt"} and mono["lq"].shape == (3, 16, 32)
