"""The report's blocks as Markdown: its figures linked as the PNGs under figures/."""

from cvae_study.analysis.report.document import (
    Block,
    Heading,
    Image,
    MissingFigure,
    Paragraph,
    Table,
    cell_text,
    image_path,
)


def markdown_table(frame) -> str:
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |",
             "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell_text(v) for v in row) + " |"
              for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def _markdown(block: Block) -> str:
    match block:
        case Heading(text, level):
            return f"{'#' * level} {text}"
        case Paragraph(text):
            return text
        case Table(frame):
            return markdown_table(frame)
        case Image(_, caption, _):
            return f"![{caption}]({image_path(block)})\n\n*{caption}*"
        case MissingFigure(caption, reason):
            return f"*{caption}: not drawn ({reason}).*"
    raise TypeError(f"not a block: {block!r}")


def to_markdown(blocks: list[Block]) -> str:
    return "\n\n".join(map(_markdown, blocks)) + "\n"
