"""Conditional video prediction in the style of SVG-LP (Denton & Fergus, 2018).

Each step t predicts frame x_t from the previous frame's features h_{t-1}, a latent z_t and
the encoded condition c_t of frame t (a robot's 7 numbers, or a pose image):

    h_{t-1}, skips = encoder(x_{t-1})            frames (B, 3, H, W) -> (B, G)
    z_t ~ q(z_t | x_t)  in training               posterior LSTM over encoder(x_t)
    z_t ~ p(z_t | x_<t) when predicting           learned prior LSTM, or N(0, I) (the lab)
    g_t = predictor([h_{t-1}, z_t, c_t])          LSTM -> (B, G)
    x_t = decoder(g_t, skips of the last observed frame)

Shapes use B = batch, T = frames, G = frame features, Z = latent, C = condition size.
Frames are 64x64 (BAIR) or 32x64 (dance): four 2x poolings bring either to H/16 x W/16, and
one convolution of that size to a vector.
"""

from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn

from cvae_study.models.vae import reparameterize
from cvae_study.models.video_blocks import (
    STAGES,
    ConditionEncoder,
    ConditionMap,
    FrameDecoder,
    FrameEncoder,
    StepLSTM,
    Widths,
)

PRESETS = {
    # The paper's BAIR model: VGG-style stages of 2 convolutions, |g| 128, LSTMs of 256.
    "svg": Widths("vgg", (64, 128, 256, 512), 2, 128, 256, 2),
    # DCGAN-style at a quarter of the channels: the preset 2 CPU cores can train
    # (benchmarks/README.md#code-video-cpu-preset).
    "cpu": Widths("dcgan", (16, 32, 64, 128), 1, 64, 128, 1),
}


@dataclass
class Rollout:
    """Predicted frames x_1 .. x_{T-1} and the Gaussians that drew their latents."""

    frames: torch.Tensor  # (B, T - 1, 3, H, W) in [0, 1]
    posterior: tuple[torch.Tensor, torch.Tensor]  # mean, logvar (B, T - 1, Z)
    prior: tuple[torch.Tensor, torch.Tensor]  # mean, logvar (B, T - 1, Z); zeros when fixed


@dataclass(frozen=True)
class VideoCVAEConfig:
    preset: Literal["auto", "svg", "cpu"] = "auto"  # auto: svg on a GPU, cpu without one
    prior: Literal["fixed", "learned"] = "learned"  # fixed: N(0, I), as the lab
    latent_size: int = field(default=64, metadata={"low": 1, "high": 512})  # |z|, the paper's
    condition_size: int = field(default=32, metadata={"low": 1, "high": 512})
    # Ours, not SVG-LP's: the condition also drawn as a map (see ConditionMap) beside the
    # decoder's finest skip (benchmarks/README.md#code-spatial-condition). False: the paper's model.
    spatial_condition: bool = True


def resolve_preset(config: VideoCVAEConfig, device: torch.device) -> str:
    if config.preset != "auto":
        return config.preset
    return "svg" if device.type == "cuda" else "cpu"


class VideoCVAE(nn.Module):
    """The blocks of the model; the task runs them over time and computes the losses."""

    def __init__(self, config: VideoCVAEConfig, preset: str, frame_size: tuple[int, int],
                 condition_shape: tuple[int, ...]):
        """preset: svg or cpu (auto resolved by the caller); frame_size (H, W); the
        condition's shape per frame: (7,) or (3, H, W). The last three are facts of the data."""
        super().__init__()
        if frame_size[0] % 2**STAGES or frame_size[1] % 2**STAGES:
            raise ValueError(f"frames of {frame_size[0]}x{frame_size[1]}: height and width "
                             f"must be multiples of {2**STAGES}")
        self.config = config
        self.preset = preset
        w = PRESETS[preset]
        g, z, c = w.frame_features, config.latent_size, config.condition_size
        self.encoder = FrameEncoder(w, frame_size)
        self.condition_map = None
        if config.spatial_condition:
            shift = 1 if w.style == "dcgan" else 0  # the finest skip: H/2 (dcgan) or H (vgg)
            self.condition_map = ConditionMap(
                condition_shape, (frame_size[0] >> shift, frame_size[1] >> shift))
        self.decoder = FrameDecoder(w, frame_size,
                                    ConditionMap.CHANNELS if config.spatial_condition else 0)
        self.condition_encoder = ConditionEncoder(condition_shape, c)
        self.posterior = StepLSTM(g, z, w.rnn, w.posterior_layers, gaussian=True)
        self.prior = (StepLSTM(g, z, w.rnn, w.prior_layers, gaussian=True)
                      if config.prior == "learned" else None)
        self.predictor = StepLSTM(g + z + c, g, w.rnn, w.predictor_layers, gaussian=False)

    def reset(self) -> None:
        for lstm in (self.posterior, self.prior, self.predictor):
            if lstm is not None:
                lstm.reset()

    def prior_step(self, h_previous: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """p(z_t | x_<t): mean and logvar (B, Z); zeros for the fixed N(0, I)."""
        if self.prior is None:
            zeros = h_previous.new_zeros(h_previous.size(0), self.config.latent_size)
            return zeros, zeros
        return self.prior(h_previous)

    def unroll(self, frames: torch.Tensor, conditions: torch.Tensor, n_past: int,
               teacher_forced: bool = True, from_prior: bool = False,
               noise: torch.Generator | None = None) -> Rollout:
        """Predict x_1 .. x_{T-1} of clips: frames (B, T, 3, H, W) in [0, 1], conditions
        (B, T, ...) one per frame.

        Training: z_t from the posterior of the true x_t; teacher_forced=False feeds the
        predicted frames after the n_past observed ones back in. from_prior: prediction as
        at test time, z_t from the prior after the observed frames, each predicted frame
        feeding the next step. noise: a generator that makes the draws repeatable.
        """
        batch, length = frames.shape[:2]
        self.reset()
        h_all, skips = self.encoder(frames.flatten(0, 1))
        h_all = h_all.view(batch, length, -1)  # (B, T, G)
        # SVG: skips from the previous frame while observing, then from the last observed.
        source = [min(t - 1, n_past - 1) for t in range(1, length)]
        skips = [s.view(batch, length, *s.shape[1:])[:, :n_past] for s in skips]
        c_all = self.condition_encoder(conditions.flatten(0, 1)).view(batch, length, -1)
        maps = None  # (B, T, K, h, w): the condition map of each frame, if any
        if self.condition_map is not None:
            maps = self.condition_map(conditions.flatten(0, 1)).unflatten(0, (batch, length))

        def with_map(skip: list[torch.Tensor], frame_maps: torch.Tensor | None):
            if frame_maps is None:
                return skip
            return [skip[0], torch.cat([skip[1], frame_maps], dim=1), *skip[2:]]

        free_running = from_prior or not teacher_forced
        decoded: dict[int, torch.Tensor] = {}
        deferred = []  # steps whose frame nothing needs before the end: decoded in one batch
        posterior, prior = [], []
        for t in range(1, length):
            if free_running and t > n_past:
                h_previous = self.encoder(decoded[t - 1])[0]
            else:
                h_previous = h_all[:, t - 1]
            posterior.append(self.posterior(h_all[:, t]))
            prior.append(self.prior_step(h_previous))
            mean, logvar = prior[-1] if from_prior and t >= n_past else posterior[-1]
            z = reparameterize(mean, logvar, noise)
            g = self.predictor(torch.cat([h_previous, z, c_all[:, t]], dim=1))
            if free_running and t >= n_past:
                skip = [s[:, source[t - 1]] for s in skips]
                decoded[t] = self.decoder(g, with_map(skip, None if maps is None else maps[:, t]))
            else:
                deferred.append((t, g))
        if deferred:
            steps = torch.tensor([source[t - 1] for t, _ in deferred], device=frames.device)
            g = torch.stack([g for _, g in deferred], dim=1).flatten(0, 1)  # (B * steps, G)
            skip = [s.index_select(1, steps).flatten(0, 1) for s in skips]
            if maps is not None:
                at = torch.tensor([t for t, _ in deferred], device=frames.device)
                skip = with_map(skip, maps.index_select(1, at).flatten(0, 1))
            predicted = self.decoder(g, skip).unflatten(0, (batch, len(deferred)))
            for i, (t, _) in enumerate(deferred):
                decoded[t] = predicted[:, i]
        return Rollout(
            frames=torch.stack([decoded[t] for t in range(1, length)], dim=1),
            posterior=tuple(torch.stack(x, dim=1) for x in zip(*posterior, strict=True)),
            prior=tuple(torch.stack(x, dim=1) for x in zip(*prior, strict=True)),
        )
