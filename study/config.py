"""Study configuration: nested frozen dataclasses inside, flat dotted keys on the wire.

Components own their sections and defaults (models.TextCVAEConfig, models.schedules.KLConfig,
...); this module composes them, reads files and `--set` overrides, and validates every
value in one place, naming the key at fault.
"""

import dataclasses
import json
import math
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from cvae_study.models.schedules import KLConfig, TeacherForcingConfig
from cvae_study.models.text_cvae import TextCVAEConfig
from cvae_study.models.video_cvae import VideoCVAEConfig


class ConfigError(ValueError):
    """A config key, type or value is wrong; the message names the key."""


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
    # Bowman et al. 2016; 0 by default: it makes the decoder lean on z rather than on the
    # verb table it memorises, which lowered the Gaussian score (benchmarks/text-levers).
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
    # KL weight 5 over free bits of 0.3 nats x 32 dimensions holds the KL near 9.3 nats, a
    # little above the 8.7 that naming one of 5,801 training verbs takes: prior samples then
    # fall on verbs rather than between them (README, Results).
    kl: KLConfig = KLConfig(max_weight=5.0)
    tf: TeacherForcingConfig = TeacherForcingConfig()
    optim: OptimConfig = OptimConfig(lr=5e-3, lr_decay="cosine")
    # 80 epochs of batch 128: about 12 minutes on 2 CPU cores with an evaluation each epoch;
    # fewer epochs of a wider model do worse in that time (benchmarks/text-levers).
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
    # Eight epochs of the default 1,000 sequences: about 14 minutes on 2 CPU cores.
    train: TrainConfig = TrainConfig(epochs=8, batch_size=16)
    data: VideoDataConfig = VideoDataConfig()
    eval: VideoEvalConfig = VideoEvalConfig()

    def __post_init__(self):
        _check_teacher_forcing(self.tf)
        if self.data.n_past + self.data.future_frames < 2:
            raise ConfigError("data.n_future: a clip needs at least one frame to predict")


CONFIGS = {"text": TextConfig, "video": VideoConfig}


def _fields(cls) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}


def flatten(config) -> dict[str, Any]:
    """Nested dataclass -> {"kl.schedule": "cyclical", ...}."""
    flat = {}
    for name, value in dataclasses.asdict(config).items():
        for key, leaf in value.items():
            flat[f"{name}.{key}"] = leaf
    return flat


def default_assignments(task: str, keys) -> list[str]:
    """`key=value` for each key at the task's default: pins keys a study would search."""
    defaults = flatten(build(task, {}))
    return [f"{key}={defaults[key]}" for key in keys]


def valid_keys(cls) -> list[str]:
    return sorted(flatten(cls()))


def _coerce(key: str, value: Any, annotation, meta: Mapping) -> Any:
    """Turn a CLI string or a loosely typed value into the field's type, or name the key."""
    hint = f"{key}: expected"
    if typing.get_origin(annotation) is Literal:
        choices = typing.get_args(annotation)
        if value not in choices:
            raise ConfigError(f"{key}: {value!r} is not one of {', '.join(map(str, choices))}")
        return value
    if annotation is bool:
        if isinstance(value, str) and value.lower() in ("true", "1", "yes", "false", "0", "no"):
            return value.lower() in ("true", "1", "yes")
        if not isinstance(value, bool):
            raise ConfigError(f"{hint} true or false, got {value!r}")
        return value
    if annotation in (int, float):
        try:
            if isinstance(value, bool):
                raise ValueError
            number = float(value)
        except (TypeError, ValueError):
            kind = "an integer" if annotation is int else "a number"
            raise ConfigError(f"{hint} {kind}, got {value!r}") from None
        if not math.isfinite(number):
            raise ConfigError(f"{hint} a finite number, got {value!r}")
        if annotation is int:
            if number != int(number):
                raise ConfigError(f"{hint} an integer, got {value!r}")
            value = int(number)
        else:
            value = number
    elif annotation is str:
        value = str(value)
    low, high = meta.get("low"), meta.get("high")
    if low is not None and (value <= low if meta.get("low_open") else value < low):
        op = ">" if meta.get("low_open") else ">="
        raise ConfigError(f"{key}: {value} is out of range, must be {op} {low}")
    if high is not None and value > high:
        raise ConfigError(f"{key}: {value} is out of range, must be <= {high}")
    return value


def build(task: str, overrides: Mapping[str, Any] | None = None):
    """Defaults + flat dotted overrides -> a validated frozen config of the task."""
    if task not in CONFIGS:
        raise ConfigError(f"unknown task {task!r}; tasks: {', '.join(CONFIGS)}")
    cls = CONFIGS[task]
    sections: dict[str, dict[str, Any]] = {}
    top = _fields(cls)
    for key, value in (overrides or {}).items():
        section, _, name = key.partition(".")
        section_cls = top[section].type if section in top else None
        if section_cls is None or name not in _fields(section_cls):
            raise ConfigError(
                f"unknown config key {key!r}; valid keys: {', '.join(valid_keys(cls))}"
            )
        f = _fields(section_cls)[name]
        hints = typing.get_type_hints(section_cls)
        sections.setdefault(section, {})[name] = _coerce(key, value, hints[name], f.metadata)
    # A section's default may differ from its class's (video trains 8 epochs, text 40).
    built = {name: dataclasses.replace(top[name].default, **values)
             for name, values in sections.items()}
    return cls(**built)


def flatten_mapping(data: Mapping, prefix: str = "", is_leaf=lambda value: False) -> dict[str, Any]:
    """Nested mappings -> dotted keys; a mapping for which is_leaf(value) holds stays a value."""
    flat = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and not is_leaf(value):
            flat.update(flatten_mapping(value, dotted + ".", is_leaf))
        else:
            flat[dotted] = value
    return flat


def read_mapping(path: str | Path) -> Mapping[str, Any]:
    """A YAML, TOML or JSON file whose top level is a mapping, as parsed."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: file not found")
    text = path.read_text()
    try:
        if path.suffix == ".toml":
            data = tomllib.loads(text)
        elif path.suffix == ".json":
            data = json.loads(text)
        else:
            data = yaml.safe_load(text) or {}
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, yaml.YAMLError) as error:
        kind = path.suffix.lstrip(".") or "YAML"
        raise ConfigError(f"{path}: not valid {kind}: {error}") from None
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level")
    return data


def read_file(path: str | Path) -> dict[str, Any]:
    """A config file of nested sections or dotted keys -> flat dotted dict."""
    return flatten_mapping(read_mapping(path))


def parse_assignments(items: list[str]) -> dict[str, str]:
    """["kl.cycles=4", ...] -> {"kl.cycles": "4"}; types are checked by build()."""
    parsed = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r}: expected key=value, e.g. kl.cycles=4")
        parsed[key.strip()] = value.strip()
    return parsed


def set_flags(assignments: list[str]) -> list[str]:
    """["kl.cycles=4", ...] -> ["--set", "kl.cycles=4", ...]: a command line's overrides."""
    return [arg for item in assignments for arg in ("--set", item)]


def load(task: str, config_file: str | None = None, assignments: list[str] | None = None):
    """Defaults, then the file, then --set overrides, validated once."""
    overrides = read_file(config_file) if config_file else {}
    overrides.update(parse_assignments(assignments or []))
    return build(task, overrides)


def describe(task: str) -> str:
    """Every key of a task's config as a Markdown table: type or choices, default, range."""
    defaults = CONFIGS[task]()
    lines = ["| key | type | default | range |", "|---|---|---|---|"]
    for section in dataclasses.fields(defaults):
        hints = typing.get_type_hints(section.type)
        values = getattr(defaults, section.name)
        for f in dataclasses.fields(section.type):
            hint = hints[f.name]
            kind = (" / ".join(typing.get_args(hint)) if typing.get_origin(hint) is Literal
                    else hint.__name__)
            low, high = f.metadata.get("low"), f.metadata.get("high")
            bounds = ""
            if low is not None:
                bounds = f"{'>' if f.metadata.get('low_open') else '>='} {low}"
            if high is not None:
                bounds += f"{', ' if bounds else ''}<= {high}"
            value = getattr(values, f.name)
            default = value if value != "" else '""'
            lines.append(f"| `{section.name}.{f.name}` | {kind} | `{default}` | {bounds} |")
    return "\n".join(lines)


def from_flat(task: str, flat: Mapping[str, Any]):
    """Inverse of flatten(): a checkpoint's or a trial's flat dict -> config."""
    return build(task, flat)

