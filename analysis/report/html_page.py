"""The report's blocks as one HTML page that opens offline: its figures embedded."""

import base64
import html

from cvae_study.analysis.report.document import (
    Block,
    Heading,
    Image,
    MissingFigure,
    Paragraph,
    Table,
    cell_text,
)

HEAD = ("<!doctype html><html><head><meta charset='utf-8'><title>{title}</title><style>"
        "body{{font-family:sans-serif;max-width:1200px;margin:auto}}"
        "table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:2px 6px}}"
        "img{{max-width:100%}}</style></head><body>")


def _html(block: Block) -> str:
    match block:
        case Heading(text, level):
            return f"<h{level}>{html.escape(text)}</h{level}>"
        case Paragraph(text):
            return f"<p>{html.escape(text)}</p>".replace("\n", "<br>")
        case Table(frame):
            return frame.map(cell_text).to_html(index=False, escape=True)
        case Image(_, caption, png):
            data = base64.b64encode(png).decode()
            return (f"<figure><img src='data:image/png;base64,{data}' "
                    f"alt='{html.escape(caption)}'><figcaption>"
                    f"{html.escape(caption)}</figcaption></figure>")
        case MissingFigure(caption, reason):
            return (f"<p><em>{html.escape(caption)}: not drawn "
                    f"({html.escape(reason)}).</em></p>")
    raise TypeError(f"not a block: {block!r}")


def to_html(blocks: list[Block], title: str) -> str:
    parts = [HEAD.format(title=html.escape(title)), *map(_html, blocks)]
    return "\n".join(parts) + "</body></html>\n"
