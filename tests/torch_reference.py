"""Independent PyTorch references for the parity tests.

Written from the upstream definitions (torchvision's ResNet, lukemelas'
EfficientNet-Lite with static TF-SAME padding, Keras-2 MobileNet), sharing no
code with pp_tf.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn


# --------------------------------------------------------------- torchvision ResNet50
class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet50(nn.Module):
    def __init__(self, num_classes=365, layers=(3, 4, 6, 3)):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._make_layer(64, layers[0])
        self.layer2 = self._make_layer(128, layers[1], stride=2)
        self.layer3 = self._make_layer(256, layers[2], stride=2)
        self.layer4 = self._make_layer(512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2048, num_classes)

    def _make_layer(self, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * 4:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * 4, 1, stride=stride, bias=False),
                nn.BatchNorm2d(planes * 4))
        layers = [Bottleneck(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * 4
        layers += [Bottleneck(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def randomize_batchnorm(module, generator):
    """Non-trivial running statistics and affine parameters, as a trained net has."""
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=generator) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=generator) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=generator) * 0.1)


# ------------------------------------------------ EfficientNet-Lite (lukemelas layout)
def tf_same_pad(x, kernel, stride):
    """TF 'SAME': total = max((ceil(in/s) - 1) * s + k - in, 0), the odd pixel at the end."""
    ih, iw = x.shape[-2:]
    ph = max((math.ceil(ih / stride) - 1) * stride + kernel - ih, 0)
    pw = max((math.ceil(iw / stride) - 1) * stride + kernel - iw, 0)
    return F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])


def _bn(x, sd, p, eps):
    return F.batch_norm(x, sd[p + ".running_mean"], sd[p + ".running_var"], sd[p + ".weight"],
                        sd[p + ".bias"], False, 0.0, eps)


# Blocks per stage, written out from the upstream tables (TF efficientnet_lite_builder:
# Lite1 depth 1.1, Lite2 depth 1.2, first and last stage kept at one block).
LITE_REPEATS = {
    "lite0": (1, 2, 2, 3, 3, 4, 1),
    "lite1": (1, 3, 3, 4, 4, 5, 1),
    "lite2": (1, 3, 3, 4, 4, 5, 1),
}
# (kernel, first stride, expansion) per stage, as in B0; the widths come from the tensors.
LITE_STAGES = [(3, 1, 1), (3, 2, 6), (5, 2, 6), (3, 2, 6), (5, 1, 6), (5, 2, 6), (3, 1, 6)]


def efficientnet_lite_forward(sd, x, variant="lite0"):
    """Logits of a lukemelas EfficientNet-Lite state dict `sd` for NCHW input `x`."""
    eps = 1e-3
    x = F.conv2d(tf_same_pad(x, 3, 2), sd["_conv_stem.weight"], stride=2)
    x = F.relu6(_bn(x, sd, "_bn0", eps))
    b = 0
    for repeats, (k, s, e) in zip(LITE_REPEATS[variant], LITE_STAGES):
        for i in range(repeats):
            stride = s if i == 0 else 1
            p = f"_blocks.{b}."
            inp = x
            if e != 1:
                x = F.relu6(_bn(F.conv2d(x, sd[p + "_expand_conv.weight"]), sd, p + "_bn0", eps))
            w = sd[p + "_depthwise_conv.weight"]
            assert w.shape[-1] == k and w.shape[0] == x.shape[1], (p, tuple(w.shape))
            x = F.conv2d(tf_same_pad(x, k, stride), w, stride=stride, groups=w.shape[0])
            x = F.relu6(_bn(x, sd, p + "_bn1", eps))
            x = _bn(F.conv2d(x, sd[p + "_project_conv.weight"]), sd, p + "_bn2", eps)
            if stride == 1 and inp.shape[1] == x.shape[1]:
                x = x + inp
            b += 1
    assert f"_blocks.{b}._bn2.weight" not in sd, f"{variant}: more than {b} blocks in the weights"
    x = F.relu6(_bn(F.conv2d(x, sd["_conv_head.weight"]), sd, "_bn1", eps))
    return F.linear(x.mean((2, 3)), sd["_fc.weight"], sd["_fc.bias"])


def efficientnet_lite0_forward(sd, x):
    return efficientnet_lite_forward(sd, x, "lite0")


# ------------------------------------------------------------ Keras-2 MobileNet + NIMA
MOBILENET_BLOCKS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1),
                    (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)]


def mobilenet_keras2_layers():
    """(layer name, [(weight name, shape)]) of Keras-2 MobileNet(alpha=1), HWIO layouts."""
    def bn(name, n):
        return (name, [(w, (n,)) for w in ("gamma", "beta", "moving_mean", "moving_variance")])
    layers = [("conv1", [("kernel", (3, 3, 3, 32))]), bn("conv1_bn", 32)]
    cin = 32
    for i, (cout, _) in enumerate(MOBILENET_BLOCKS, start=1):
        layers += [(f"conv_dw_{i}", [("depthwise_kernel", (3, 3, cin, 1))]), bn(f"conv_dw_{i}_bn", cin),
                   (f"conv_pw_{i}", [("kernel", (1, 1, cin, cout))]), bn(f"conv_pw_{i}_bn", cout)]
        cin = cout
    return layers


def nima_keras2_forward(w, x):
    """NIMA distribution for NHWC float pixels (0-255) `x` from Keras-2 weights `w`."""
    eps = 1e-3  # Keras BatchNormalization default
    t = lambda a: torch.from_numpy(a)  # noqa: E731
    h = (x / 127.5 - 1.0).permute(0, 3, 1, 2)

    def bn(h, name):
        return F.batch_norm(h, t(w[name + "/moving_mean"]), t(w[name + "/moving_variance"]),
                            t(w[name + "/gamma"]), t(w[name + "/beta"]), False, 0.0, eps)

    # Keras-2 MobileNet: ZeroPadding2D(((0, 1), (0, 1))) + 'valid' at stride 2.
    h = F.conv2d(F.pad(h, [0, 1, 0, 1]), t(w["conv1/kernel"]).permute(3, 2, 0, 1), stride=2)
    h = F.relu6(bn(h, "conv1_bn"))
    for i, (_, stride) in enumerate(MOBILENET_BLOCKS, start=1):
        dw = t(w[f"conv_dw_{i}/depthwise_kernel"]).permute(2, 3, 0, 1)
        h = F.pad(h, [0, 1, 0, 1]) if stride == 2 else F.pad(h, [1, 1, 1, 1])
        h = F.relu6(bn(F.conv2d(h, dw, stride=stride, groups=dw.shape[0]), f"conv_dw_{i}_bn"))
        pw = t(w[f"conv_pw_{i}/kernel"]).permute(3, 2, 0, 1)
        h = F.relu6(bn(F.conv2d(h, pw), f"conv_pw_{i}_bn"))
    features = h.mean((2, 3))
    return torch.softmax(features @ t(w["dense_1/kernel"]) + t(w["dense_1/bias"]), -1)
