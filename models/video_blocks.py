"""The building blocks of the video CVAE (models/video_cvae.py), after SVG-LP's.

Frame encoder and decoder (VGG- or DCGAN-style stages with skips), the step-at-a-time LSTM,
and the two condition encoders: to a vector, and to a map beside the decoder's finest skip.
Shapes use B = batch, G = frame features, C = condition size; frames are (B, 3, H, W) with H
and W multiples of 16 (STAGES 2x poolings).
"""

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

STAGES = 4  # 2x poolings between the frame and its vector; frames are multiples of 16


@dataclass(frozen=True)
class Widths:
    """The sizes a preset fixes."""

    # vgg: 3x3 convolutions then 2x pooling a stage; dcgan: one strided 4x4 convolution a
    # stage (SVG's two frame models). dcgan does no convolution at full resolution but the
    # last, which is what makes the cpu preset cheap.
    style: Literal["vgg", "dcgan"]
    channels: tuple[int, ...]  # per encoder stage, full resolution first
    convs_per_stage: int  # vgg only
    frame_features: int  # |g|
    rnn: int  # LSTM units
    predictor_layers: int
    posterior_layers: int = 1
    prior_layers: int = 1


def _activated(conv: nn.Module, channels: int) -> nn.Sequential:
    return nn.Sequential(conv, nn.BatchNorm2d(channels), nn.LeakyReLU(0.2, inplace=True))


def _stage(widths: Widths, in_channels: int, out_channels: int, transposed: bool = False):
    """One resolution step: vgg keeps the resolution (pooling or upsampling is apart);
    dcgan halves it (encoder) or doubles it (decoder) itself."""
    if widths.style == "dcgan":
        conv = nn.ConvTranspose2d if transposed else nn.Conv2d
        return _activated(conv(in_channels, out_channels, 4, 2, 1), out_channels)
    return nn.Sequential(*(
        _activated(nn.Conv2d(in_channels if i == 0 else out_channels, out_channels, 3,
                             padding=1), out_channels)
        for i in range(widths.convs_per_stage)))


class FrameEncoder(nn.Module):
    """(B, 3, H, W) -> features (B, G) and skips, finest first: the frame, then each
    stage's output at H, H/2, H/4, H/8 (vgg) or H/2 .. H/16 (dcgan)."""

    def __init__(self, widths: Widths, frame_size: tuple[int, int], in_channels: int = 3):
        super().__init__()
        inputs = (in_channels, *widths.channels[:-1])
        self.stages = nn.ModuleList(_stage(widths, i, o)
                                    for i, o in zip(inputs, widths.channels, strict=True))
        self.pool = nn.MaxPool2d(2) if widths.style == "vgg" else nn.Identity()
        bottom = (frame_size[0] >> STAGES, frame_size[1] >> STAGES)  # (4, 4) or (2, 4)
        self.to_vector = _activated(
            nn.Conv2d(widths.channels[-1], widths.frame_features, bottom), widths.frame_features)
        self.to_vector[-1] = nn.Tanh()

    def forward(self, frames: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        skips, x = [frames], frames  # the frame itself too: the decoder can copy its pixels
        for stage in self.stages:
            x = stage(x)
            skips.append(x)
            x = self.pool(x)
        return self.to_vector(x).flatten(1), skips  # (B, G), [frames, (B, channels[i], ., .)]


class FrameDecoder(nn.Module):
    """features (B, G) + encoder skips -> frames (B, 3, H, W) in [0, 1]."""

    def __init__(self, widths: Widths, frame_size: tuple[int, int], map_channels: int = 0):
        """map_channels: a condition map concatenated to the finest stage skip."""
        super().__init__()
        channels = widths.channels
        bottom = (frame_size[0] >> STAGES, frame_size[1] >> STAGES)
        self.from_vector = _activated(
            nn.ConvTranspose2d(widths.frame_features, channels[-1], bottom), channels[-1])
        # vgg upsamples before each stage, to its skip's resolution; dcgan's skips are at
        # the input's resolution and its stages double it.
        self.up = nn.Upsample(scale_factor=2) if widths.style == "vgg" else nn.Identity()
        # Stage i (deepest first) sees its input concatenated with skip i.
        outputs = (*channels[:-1][::-1], channels[0])
        extra = [0] * (len(channels) - 1) + [map_channels]
        self.stages = nn.ModuleList(
            _stage(widths, 2 * c + e, o, transposed=True)
            for c, o, e in zip(channels[::-1], outputs, extra, strict=True))
        # The last layer sees the skip frame's own pixels: static background is copied, not
        # redrawn.
        self.to_frame = nn.Sequential(nn.Conv2d(channels[0] + 3, 3, 3, padding=1), nn.Sigmoid())

    def forward(self, features: torch.Tensor, skips: list[torch.Tensor]) -> torch.Tensor:
        x = self.from_vector(features[:, :, None, None])  # (B, channels[-1], H/16, W/16)
        frame, *stage_skips = skips
        for stage, skip in zip(self.stages, reversed(stage_skips), strict=True):
            x = stage(torch.cat([self.up(x), skip], dim=1))
        return self.to_frame(torch.cat([x, frame], dim=1))  # (B, 3, H, W)


class StepLSTM(nn.Module):
    """Stacked LSTM cells run one step at a time: Linear -> LSTM cells -> Linear heads."""

    def __init__(self, in_size: int, out_size: int, hidden: int, layers: int, gaussian: bool):
        super().__init__()
        self.embed = nn.Linear(in_size, hidden)
        self.cells = nn.ModuleList(nn.LSTMCell(hidden, hidden) for _ in range(layers))
        self.head = nn.Linear(hidden, 2 * out_size if gaussian else out_size)
        self.gaussian = gaussian
        self.state: list[tuple[torch.Tensor, torch.Tensor]] | None = None

    def reset(self) -> None:
        """Start a new batch of sequences (zero state at the next step)."""
        self.state = None

    def forward(self, x: torch.Tensor):
        """(B, in) -> (B, out) tanh features, or mean and logvar (B, out) when Gaussian."""
        h = self.embed(x)
        states = self.state or [None] * len(self.cells)
        new_states = []
        for cell, state in zip(self.cells, states, strict=True):
            state = cell(h, state)
            new_states.append(state)
            h = state[0]
        self.state = new_states
        out = self.head(h)
        return out.chunk(2, dim=-1) if self.gaussian else torch.tanh(out)


class ConditionEncoder(nn.Module):
    """A frame's condition -> (B, C): an MLP for vectors, a small conv net for pose images."""

    def __init__(self, condition_shape: tuple[int, ...], size: int):
        super().__init__()
        if len(condition_shape) == 1:  # (7,): actions and end-effector position
            self.net = nn.Sequential(nn.Linear(condition_shape[0], 64), nn.ReLU(),
                                     nn.Linear(64, size))
        else:  # (3, H, W) pose image: strided convolutions keep where the limbs are
            channels, height, width = condition_shape
            self.net = nn.Sequential(
                nn.Conv2d(channels, 16, 4, 2, 1), nn.LeakyReLU(0.2),
                nn.Conv2d(16, 32, 4, 2, 1), nn.LeakyReLU(0.2),
                nn.Conv2d(32, 32, 4, 2, 1), nn.LeakyReLU(0.2),  # (B, 32, H/8, W/8)
                nn.Flatten(), nn.Linear(32 * (height // 8) * (width // 8), size))

    def forward(self, condition: torch.Tensor) -> torch.Tensor:
        return self.net(condition)


class ConditionMap(nn.Module):
    """A frame's condition as a map (B, K, h, w) at the finest skip's resolution.

    Where the condition puts things (the end effector, the limbs of a pose) is where pixels
    change. A per-pixel network of the 7 numbers and the pixel's coordinates renders a
    position far more easily than a decoder does from a vector (the spatial-broadcast
    decoder of Watters et al. 2019); pose images are maps already: a small conv net."""

    CHANNELS = 16

    def __init__(self, condition_shape: tuple[int, ...], size: tuple[int, int]):
        super().__init__()
        self.size = size
        k = self.CHANNELS
        self.vector = len(condition_shape) == 1
        if self.vector:
            ys, xs = torch.meshgrid(torch.linspace(-1, 1, size[0]), torch.linspace(-1, 1, size[1]),
                                    indexing="ij")
            self.register_buffer("coordinates", torch.stack([xs, ys]), persistent=False)
            self.net = nn.Sequential(nn.Conv2d(condition_shape[0] + 2, 32, 1), nn.LeakyReLU(0.2),
                                     nn.Conv2d(32, k, 1), nn.LeakyReLU(0.2))
        else:
            self.net = nn.Sequential(nn.Conv2d(condition_shape[0], 16, 3, padding=1),
                                     nn.LeakyReLU(0.2), nn.Conv2d(16, k, 3, padding=1),
                                     nn.LeakyReLU(0.2))

    def forward(self, condition: torch.Tensor) -> torch.Tensor:
        if not self.vector:  # (B, 3, H, W) pose images
            return self.net(nn.functional.interpolate(condition, self.size, mode="area"))
        tiled = condition[:, :, None, None].expand(-1, -1, *self.size)  # (B, 7, h, w)
        grid = self.coordinates.expand(len(condition), -1, -1, -1)  # (B, 2, h, w)
        return self.net(torch.cat([tiled, grid], dim=1))
