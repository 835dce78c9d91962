"""Flat dotted keys <-> nested frozen dataclasses, for any config class of two levels.

A config class has one dataclass field per section (its default may differ from the
section class's own); a section's fields carry "low" / "high" / "low_open" metadata that
bounds them. Every value is checked here, and every error names the key at fault.
"""

import dataclasses
import json
import math
import tomllib
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml

from cvae_study.study.errors import UsageError

Overrides = Mapping[str, Any]  # flat dotted keys -> values (strings from a command line)


class ConfigError(UsageError):
    """A config key, type or value is wrong; the message names the key."""


def _fields(cls) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}


def flatten(config) -> dict[str, Any]:
    """Nested dataclass -> {"kl.schedule": "cyclical", ...}."""
    flat = {}
    for name, value in dataclasses.asdict(config).items():
        for key, leaf in value.items():
            flat[f"{name}.{key}"] = leaf
    return flat


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


def build(cls, overrides: Overrides | None = None):
    """Defaults + flat dotted overrides -> a validated frozen instance of `cls`."""
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


def set_flags(overrides: Overrides) -> list[str]:
    """{"kl.cycles": 4, ...} -> ["--set", "kl.cycles=4", ...]: for a child process's argv."""
    return [arg for key, value in overrides.items() for arg in ("--set", f"{key}={value}")]


def describe(cls) -> str:
    """Every key of a config class as a Markdown table: type or choices, default, range."""
    defaults = cls()
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
