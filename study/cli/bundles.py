"""The commands of a model bundle: `export` (a study's trial -> a bundle, bundle.export),
and those that use one: `convert` and `generate` (a text bundle), `predict` (a video
bundle's frames of a clip, bundle.predict). The demo calls the same functions."""

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cvae_study.study import names as n
from cvae_study.study.cli import flags
from cvae_study.study.options import ExportOptions, check_export
from cvae_study.study.tracking.workdir import Workspace

BUNDLE_HELP = "a bundle folder (cvae-study export)"


def _add_export(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("export", help="the best trial of a study -> a model bundle")
    parser.add_argument("name")
    parser.add_argument("--out", type=Path,
                        help="the bundle's folder (required, but for --pareto)")
    parser.add_argument("--metric", help="pick the best by this metric (default: the "
                        "study's objective)")
    parser.add_argument("--trial", help="export this Ray trial id instead of the best")
    parser.add_argument("--pareto", action="store_true", help="a study of several "
                        "objectives: list its Pareto front (choose one with --trial); writes "
                        "no bundle")
    parser.add_argument("--force", action="store_true", help="replace an existing --out")
    parser.add_argument("--register", metavar="MODEL_NAME",
                        help="also log the bundle to the trial's run and register a version")
    flags.add_store(parser)
    parser.set_defaults(run=_run_export)


def add_parser(commands: argparse._SubParsersAction) -> None:
    _add_export(commands)
    convert_ = commands.add_parser("convert", help="convert a verb with an exported model")
    convert_.add_argument("--model", required=True, help=BUNDLE_HELP)
    convert_.add_argument("word")
    convert_.add_argument("--from", dest="source", required=True, help="sp|tp|pg|p or long form")
    convert_.add_argument("--to", dest="target", required=True, help="sp|tp|pg|p or long form")
    convert_.set_defaults(run=_run_convert)

    generate_ = commands.add_parser("generate", help="new verbs in all four tenses from noise")
    generate_.add_argument("--model", required=True, help=BUNDLE_HELP)
    generate_.add_argument("-n", type=flags.at_least(1), default=5, help="how many (default 5)")
    generate_.add_argument("--seed", type=int, default=0)
    generate_.set_defaults(run=_run_generate)

    predict_ = commands.add_parser("predict", help="future frames of a clip with an exported "
                                   "video model, as a GIF or PNG strip")
    predict_.add_argument("--model", required=True, help="a video bundle (cvae-study export)")
    predict_.add_argument("--clip", required=True, help="pushing: a BAIR sequence folder "
                          "(0.png ..., actions.csv, endeffector_positions.csv); dance: a split "
                          "folder (val/ with val_img/ and val_label/)")
    predict_.add_argument("--start", type=int, default=0, help="the clip's first frame")
    predict_.add_argument("--out", required=True, type=Path, help="FILE.gif (truth beside "
                          "prediction) or FILE.png (truth over prediction)")
    predict_.set_defaults(run=_run_predict)


def _run_export(args: argparse.Namespace) -> int:
    out = args.out.expanduser().resolve() if args.out else None
    options = ExportOptions(args.name, out=out, metric=args.metric, trial=args.trial,
                            force=args.force, register=args.register, pareto=args.pareto)
    print(json.dumps(export(options, flags.workspace(args)), indent=2))
    return 0


def _run_convert(args: argparse.Namespace) -> int:
    print(convert(args.model, [(args.word, args.source, args.target)])[0])
    return 0


def _run_generate(args: argparse.Namespace) -> int:
    for row in generate(args.model, args.n, args.seed):
        print(" / ".join(row))
    return 0


def _run_predict(args: argparse.Namespace) -> int:
    written, scores = predict(args.model, args.clip, args.out.expanduser(), start=args.start)
    print(f"{written}: predicted frames at PSNR {scores[n.VAL_PSNR]:.2f} dB, copying the last "
          f"frame {scores[n.VAL_PSNR_COPY_LAST]:.2f} dB")
    return 0


def export(options: ExportOptions, where: Workspace) -> dict[str, Any]:
    """A trial of the study -> a bundle at options.out -> what was written (or, pareto, the
    study's recorded front, writing nothing)."""
    from cvae_study.study.bundle import export as exports

    check_export(options)
    if options.pareto:
        return exports.front_listing(where.tracking_uri, options.name)
    return exports.export(where.tracking_uri, options.name, options.out, options.metric,
                          options.trial, options.force, options.register)


def convert(model: str | Path, conversions: Sequence[tuple[str, str, str]]) -> list[str]:
    """Each (word, its tense, the tense wanted) converted by the text bundle `model`; tenses
    as sp|tp|pg|p or their long forms."""
    from cvae_study.datasets.tense import Conversion, encode_word, parse_tense
    from cvae_study.study.bundle.bundle import load_bundle
    from cvae_study.study.tasks.text import convert_words

    items = []
    for word, source, target in conversions:
        source_tense, target_tense = parse_tense(source), parse_tense(target)
        encode_word(word)  # a character outside a-z: a clear error, exit 2
        items.append(Conversion(word, source_tense, "", target_tense))
    bundle = load_bundle(model, task_wanted="text")
    return convert_words(bundle.model, items, bundle.meta["max_length"])


def generate(model: str | Path, count: int, seed: int) -> list[tuple[str, ...]]:
    """`count` new verbs of the text bundle `model`, each in the four tenses."""
    from cvae_study.study.bundle.bundle import load_bundle
    from cvae_study.study.tasks.text import generate_words

    bundle = load_bundle(model, task_wanted="text")
    return generate_words(bundle.model, count, seed, bundle.meta["max_length"],
                          bundle.config.eval.beam)


def predict(model: str | Path, clip: str | Path, out: Path,
            *, start: int = 0) -> tuple[Path, dict[str, float]]:
    """The video bundle `model`'s frames of `clip` from frame `start`, written to `out`
    (.gif or .png) -> (the file written, PSNR of the prediction and of copying the last
    observed frame)."""
    from cvae_study.study.bundle.predict import predict_clip, write_prediction

    truth, predicted, scores = predict_clip(model, clip, start)
    return write_prediction(out, truth, predicted), scores
