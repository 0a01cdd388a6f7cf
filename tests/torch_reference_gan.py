"""Independent PyTorch references of the two photo stylisers, for the parity tests.

Written from the upstream definitions (junyanz/pytorch-CycleGAN-and-pix2pix
`ResnetGenerator`/`NLayerDiscriminator` with instance norm; Yijunmaverick's
CartoonGAN `network/Transformer.py`), sharing no code with pp_tf. Module
structures and names are such that `state_dict()` has the keys of the
published files.
"""

import torch
import torch.nn.functional as F
from torch import nn


# ------------------------------------------------------- junyanz CycleGAN generator
def _instance_norm(channels):
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False, eps=1e-5)


class ResnetBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=True), _instance_norm(dim),
            nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=True), _instance_norm(dim))

    def forward(self, x):
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    """`resnet_{n_blocks}blocks`, norm='instance', no dropout, reflect padding."""

    def __init__(self, ngf=64, n_blocks=9):
        super().__init__()
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(3, ngf, 7, bias=True), _instance_norm(ngf),
                  nn.ReLU(True)]
        for i in range(2):
            c = ngf * 2 ** i
            layers += [nn.Conv2d(c, 2 * c, 3, stride=2, padding=1, bias=True),
                       _instance_norm(2 * c), nn.ReLU(True)]
        layers += [ResnetBlock(ngf * 4) for _ in range(n_blocks)]
        for i in range(2):
            c = ngf * 2 ** (2 - i)
            layers += [nn.ConvTranspose2d(c, c // 2, 3, stride=2, padding=1, output_padding=1,
                                          bias=True),
                       _instance_norm(c // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)


def instance_norm_prefixes(module):
    """State-dict prefixes of the InstanceNorm2d modules (where old files kept running stats)."""
    return [name for name, m in module.named_modules() if isinstance(m, nn.InstanceNorm2d)]


class NLayerDiscriminator(nn.Module):
    def __init__(self, ndf=64, n_layers=3):
        super().__init__()
        layers = [nn.Conv2d(3, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers + 1):
            previous, mult = mult, min(2 ** n, 8)
            layers += [nn.Conv2d(ndf * previous, ndf * mult, 4, stride=2 if n < n_layers else 1,
                                 padding=1, bias=True),
                       _instance_norm(ndf * mult), nn.LeakyReLU(0.2, True)]
        layers += [nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1)]
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)


# ------------------------------------------------------- CartoonGAN Transformer
class CartoonInstanceNorm(nn.Module):
    """Transformer.py's norm: biased variance, eps 1e-9 in the root, `scale`/`shift`."""

    def __init__(self, dim, eps=1e-9):
        super().__init__()
        self.scale = nn.Parameter(torch.rand(dim))
        self.shift = nn.Parameter(torch.zeros(dim))
        self.eps = eps

    def forward(self, x):
        n = x.shape[2] * x.shape[3]
        flat = x.reshape(x.shape[0], x.shape[1], n)
        mean = flat.mean(2)[:, :, None, None]
        var = (flat.var(2) * ((n - 1) / n))[:, :, None, None]
        out = (x - mean) / torch.sqrt(var + self.eps)
        return out * self.scale[None, :, None, None] + self.shift[None, :, None, None]


class Transformer(nn.Module):
    """CartoonGAN generator with the module names of `*_net_G_float.pth`."""

    def __init__(self):
        super().__init__()
        self.refpad01_1 = nn.ReflectionPad2d(3)
        self.conv01_1 = nn.Conv2d(3, 64, 7)
        self.in01_1 = CartoonInstanceNorm(64)
        self.conv02_1 = nn.Conv2d(64, 128, 3, 2, 1)
        self.conv02_2 = nn.Conv2d(128, 128, 3, 1, 1)
        self.in02_1 = CartoonInstanceNorm(128)
        self.conv03_1 = nn.Conv2d(128, 256, 3, 2, 1)
        self.conv03_2 = nn.Conv2d(256, 256, 3, 1, 1)
        self.in03_1 = CartoonInstanceNorm(256)
        for i in range(4, 12):
            for j in (1, 2):
                setattr(self, f"refpad{i:02d}_{j}", nn.ReflectionPad2d(1))
                setattr(self, f"conv{i:02d}_{j}", nn.Conv2d(256, 256, 3))
                setattr(self, f"in{i:02d}_{j}", CartoonInstanceNorm(256))
        self.deconv01_1 = nn.ConvTranspose2d(256, 128, 3, 2, 1, 1)
        self.deconv01_2 = nn.Conv2d(128, 128, 3, 1, 1)
        self.in12_1 = CartoonInstanceNorm(128)
        self.deconv02_1 = nn.ConvTranspose2d(128, 64, 3, 2, 1, 1)
        self.deconv02_2 = nn.Conv2d(64, 64, 3, 1, 1)
        self.in13_1 = CartoonInstanceNorm(64)
        self.refpad12_1 = nn.ReflectionPad2d(3)
        self.deconv03_1 = nn.Conv2d(64, 3, 7)

    def forward(self, x):
        y = F.relu(self.in01_1(self.conv01_1(self.refpad01_1(x))))
        y = F.relu(self.in02_1(self.conv02_2(self.conv02_1(y))))
        y = F.relu(self.in03_1(self.conv03_2(self.conv03_1(y))))
        for i in range(4, 12):
            m = lambda kind, j: getattr(self, f"{kind}{i:02d}_{j}")  # noqa: E731
            h = F.relu(m("in", 1)(m("conv", 1)(m("refpad", 1)(y))))
            y = m("in", 2)(m("conv", 2)(m("refpad", 2)(h))) + y
        y = F.relu(self.in12_1(self.deconv01_2(self.deconv01_1(y))))
        y = F.relu(self.in13_1(self.deconv02_2(self.deconv02_1(y))))
        return torch.tanh(self.deconv03_1(self.refpad12_1(y)))


def randomize_cartoon_norms(module, generator):
    """Scales and shifts away from their initial values, as a trained net has."""
    for m in module.modules():
        if isinstance(m, CartoonInstanceNorm):
            n = m.scale.numel()
            m.scale.data.copy_(torch.rand(n, generator=generator) + 0.5)
            m.shift.data.copy_(torch.randn(n, generator=generator) * 0.1)
