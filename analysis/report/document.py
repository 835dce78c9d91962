"""The report as a document: a list of blocks that the two renderers (html_page,
markdown_page) turn into pages alike. A figure block holds its PNG, drawn when the block was
built, so rendering reads nothing and draws nothing."""

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    text: str  # a newline breaks the line


@dataclass(frozen=True)
class Table:
    frame: pd.DataFrame


@dataclass(frozen=True)
class Image:
    name: str  # the file's stem: figures/<name>.png beside the pages
    caption: str
    png: bytes


@dataclass(frozen=True)
class MissingFigure:
    caption: str
    reason: str  # why it is not drawn


Block = Heading | Paragraph | Table | Image | MissingFigure


def image_path(image: Image) -> str:
    """Where the image's PNG lies, relative to the pages."""
    return f"figures/{image.name}.png"


def cell_text(value) -> str:
    """A table cell as both pages show it: floats to 4 significant digits, NaN blank."""
    if isinstance(value, float):
        return "" if pd.isna(value) else f"{value:.4g}"
    return str(value)
