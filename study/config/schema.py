"""The sections of each task's config and their defaults, as frozen dataclasses.

Components own their sections (models.TextCVAEConfig, models.schedules.KLConfig, ...);
this module composes them per task and holds the checks that span two keys. The generic
machinery (flat keys, types, ranges, files) is engine.py's.
"""

from dataclasses import dataclass, field
from typing import Literal

from cvae_study.models.schedules import KLConfig, TeacherForcingConfig
from cvae_study.models.text_cvae import TextCVAEConfig
from cvae_study.models.video_cvae import VideoCVAEConfig
from cvae_study.study.config.engine import ConfigError


def _check_teacher_forcing(tf: TeacherForcingConfig) -> None:
    if tf.floor > tf.start:
        raise ConfigError(f"tf.floor: {tf.floor} is above tf.start {tf.start}")


@dataclass(frozen=True)
class OptimConfig:
    name: Literal["adam", "sgd"] = "adam"
    lr: float = field(default=3e-3, metadata={"low": 0.0, "high": 10.0, "low_open": True})
    grad_clip: float = field(default=1.0, metadata={"low": 0.0})  # 0 disables clipping
    # none: lr throughout; cosine: from lr down to 0 over the run (Loshchilov & Hutter 2017)
    lr_decay: Literal["none", "cosine"] = "none"


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = field(default=40, metadata={"low": 1})
    batch_size: int = field(default=64, metadata={"low": 1})
    seed: int = field(default=0, metadata={"low": 0})
    # bf16: the training step's forward pass under bfloat16 autocast (mixed precision; no
    # loss scaling needed); evaluation stays fp32.
    precision: Literal["fp32", "bf16"] = "fp32"


@dataclass(frozen=True)
class TextTrainConfig(TrainConfig):
    # reconstruct: the lab's objective, each word encoded and decoded in its own tense;
    # all_tenses: one form encoded, all four decoded from the same z (what generation needs).
    objective: Literal["reconstruct", "all_tenses"] = "all_tenses"
    # Bowman et al. 2016; 0 by default: it lowered the Gaussian score
    # (benchmarks/README.md#code-word-dropout).
    word_dropout: float = field(default=0.0, metadata={"low": 0.0, "high": 1.0})


@dataclass(frozen=True)
class TextDataConfig:
    source: Literal["lemminflect", "lab"] = "lemminflect"
    dir: str = ""  # the lab's train.txt / test.txt folder when source = lab
    heldout_fraction: float = field(default=0.1, metadata={"low": 0.0, "high": 0.9})
    split_seed: int = field(default=0, metadata={"low": 0})


@dataclass(frozen=True)
class TextEvalConfig:
    verbs: int = field(default=400, metadata={"low": 0})  # per protocol and epoch; 0 = all
    samples: int = field(default=100, metadata={"low": 1})  # Gaussian-score samples
    # Generation decodes each (z, tense) by beam search of this width; 1 = greedy.
    # Conversion (BLEU-4) is always greedy, as in the lab.
    beam: int = field(default=8, metadata={"low": 1, "high": 64})


@dataclass(frozen=True)
class TextConfig:
    model: TextCVAEConfig = TextCVAEConfig()
    # KL weight 5 over free bits holds the KL just above what naming one training verb takes,
    # so prior samples fall on verbs rather than between them (benchmarks/README.md#code-kl-weight).
    kl: KLConfig = KLConfig(max_weight=5.0)
    tf: TeacherForcingConfig = TeacherForcingConfig()
    optim: OptimConfig = OptimConfig(lr=5e-3, lr_decay="cosine")
    # 80 epochs of batch 128 fit the 15-minute bench on 2 CPU cores
    # (benchmarks/README.md#code-text-epochs).
    train: TextTrainConfig = TextTrainConfig(epochs=80, batch_size=128)
    data: TextDataConfig = TextDataConfig()
    eval: TextEvalConfig = TextEvalConfig()

    def __post_init__(self):
        if self.data.source == "lab" and not self.data.dir:
            raise ConfigError("data.dir: required when data.source is 'lab' (train.txt's folder)")
        _check_teacher_forcing(self.tf)


@dataclass(frozen=True)
class VideoDataConfig:
    kind: Literal["pushing", "dance"] = "pushing"  # robot actions (BAIR) or pose images
    dir: str = ""  # a real data set in the kind's layout; "" = the synthetic one
    sequences: int = field(default=1000, metadata={"low": 1})  # synthetic training sequences
    seed: int = field(default=0, metadata={"low": 0})  # of the synthetic data
    n_past: int = field(default=2, metadata={"low": 1})  # observed frames of a clip
    # predicted frames of a clip; 0 = the lab's: 10 for pushing, 14 for dance (16-frame clips)
    n_future: int = field(default=0, metadata={"low": 0})

    @property
    def future_frames(self) -> int:
        return self.n_future or {"pushing": 10, "dance": 14}[self.kind]


@dataclass(frozen=True)
class VideoEvalConfig:
    clips: int = field(default=128, metadata={"low": 0})  # validation clips; 0 = all
    strip_clips: int = field(default=3, metadata={"low": 0})  # clips in the logged image


@dataclass(frozen=True)
class VideoConfig:
    model: VideoCVAEConfig = VideoCVAEConfig()
    # The reconstruction term sums squared errors over pixels (a Gaussian likelihood), so a
    # KL weight of 1 is SVG-LP's beta of 1e-4 on a per-pixel mean: no free bits needed.
    kl: KLConfig = KLConfig(max_weight=1.0, free_bits=0.0)
    tf: TeacherForcingConfig = TeacherForcingConfig()
    optim: OptimConfig = OptimConfig(lr=2e-3, grad_clip=0.0)  # SVG-LP: Adam at 2e-3
    # Eight epochs of 1,000 sequences fit the 15-minute bench on 2 CPU cores
    # (benchmarks/README.md#code-video-epochs).
    train: TrainConfig = TrainConfig(epochs=8, batch_size=16)
    data: VideoDataConfig = VideoDataConfig()
    eval: VideoEvalConfig = VideoEvalConfig()

    def __post_init__(self):
        _check_teacher_forcing(self.tf)
        if self.data.n_past + self.data.future_frames < 2:
            raise ConfigError("data.n_future: a clip needs at least one frame to predict")


CONFIGS = {"text": TextConfig, "video": VideoConfig}
