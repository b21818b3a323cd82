import pytest
import torch
from torch import nn

from learn_compress.models import OptionAShortcut, build_model, cifar_resnet
from learn_compress.registry import MODELS

# exact counts of compress-common.md sections 1 and 3 (published: ResNet-20 0.27 M, ResNet-56 0.85 M, WRN-16-1 0.17 M)
COUNTS = [
    ("resnet20", {}, 269_722, 32),
    ("resnet32", {}, 464_154, 32),
    ("resnet56", {}, 853_018, 32),
    ("wrn16_1", {}, 175_626, 32),
    ("wrn16_2", {}, 692_810, 32),
    ("wrn16_4", {}, 2_751_146, 32),
    ("wrn16_8", {}, 10_965_866, 32),
    ("wrn16_2", {"num_classes": 100}, 704_420, 32),
    ("wrn16_10", {"num_classes": 100}, 17_179_940, 32),
    ("wrn16_2", {"num_classes": 200}, 717_320, 64),
    ("mobilenetv2_cifar", {"width": 0.5, "num_classes": 100}, 812_836, 32),
    ("mobilenetv2_tv", {"width": 1.4, "num_classes": 200}, 4_674_376, 64),
    ("mobilenet_v1_cifar", {"num_classes": 100}, 3_309_476, 32),
]


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(("name", "kwargs", "expected", "size"), COUNTS, ids=[f"{c[0]}-{c[2]}" for c in COUNTS])
def test_parameter_count_and_output_shape(name, kwargs, expected, size):
    model = build_model(name, **kwargs)
    assert n_params(model) == expected
    with torch.no_grad():
        out = model.eval()(torch.zeros(2, 3, size, size))
    assert out.shape == (2, kwargs.get("num_classes", 10))


def test_small_cnn_learns_shape_and_features():
    model = build_model("small_cnn", width=8)
    logits, features = model(torch.randn(3, 3, 32, 32), return_features=True)
    assert logits.shape == (3, 10) and features.shape == (3, 32)


def test_resnet_tiny_keeps_resolution_in_stem():
    model = build_model("resnet18_tiny", num_classes=200)
    assert n_params(model) == 11_271_432  # torchvision ResNet-18 with a 3x3 stem, 200 classes
    assert isinstance(model.maxpool, nn.Identity) and model.conv1.stride == (1, 1)


def test_cifar_resnet_has_one_relu_module_per_site_and_features():
    model = cifar_resnet(20)
    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    assert len(relus) == 19 and len({id(m) for m in relus}) == 19  # stem + 2 per block, none shared
    logits, features = model.eval()(torch.randn(2, 3, 32, 32), return_features=True)
    assert logits.shape == (2, 10) and features.shape == (2, 64)
    assert sorted(k for k in model.state_dict() if not k.startswith("layer"))[:3] == [
        "bn1.bias",
        "bn1.num_batches_tracked",
        "bn1.running_mean",
    ]


def test_option_a_shortcut_zero_pads_channels():
    model = cifar_resnet(20).eval()
    block = model.layer2[0]
    assert isinstance(block.shortcut, OptionAShortcut) and not list(block.shortcut.parameters())
    captured = {}
    block.shortcut.register_forward_hook(lambda mod, inp, out: captured.update(out=out))
    model(torch.ones(1, 3, 32, 32))
    out = captured["out"]
    assert out.shape == (1, 32, 16, 16)
    assert torch.all(out[:, :8] == 0) and torch.all(out[:, 24:] == 0)
    assert out[:, 8:24].abs().sum() > 0


def test_invalid_depths_and_unknown_names_are_explained():
    with pytest.raises(ValueError, match="6n\\+2"):
        cifar_resnet(21)
    with pytest.raises(ValueError, match="6n\\+4"):
        build_model("wrn", depth=15)
    with pytest.raises(KeyError, match="did you mean 'resnet20'"):
        build_model("resnet-20")
    assert {"resnet20", "resnet32", "resnet56", "wrn16_1", "mobilenetv2_cifar", "small_cnn"} <= set(MODELS.names())


def test_wrn_stride_sits_on_second_conv():
    block = build_model("wrn16_1").layer2[0]
    assert block.conv1.stride == (1, 1) and block.conv2.stride == (2, 2)
    assert isinstance(block.shortcut, nn.Conv2d) and block.shortcut.bias is not None
