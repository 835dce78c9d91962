"""A drawn figure as a report block: its PNG, or why it is missing."""

import io

from matplotlib.figure import Figure

from cvae_study.analysis.report.document import Image, MissingFigure

DPI = 90
NO_DATA = "no data in this study"


def figure_block(figure: Figure | None, name: str, caption: str) -> Image | MissingFigure:
    if figure is None:
        return MissingFigure(caption, NO_DATA)
    png = io.BytesIO()
    figure.savefig(png, format="png", dpi=DPI, bbox_inches="tight")  # no title cut off
    return Image(name, caption, png.getvalue())
