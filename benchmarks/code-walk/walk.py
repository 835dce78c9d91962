"""Which of our modules a smoke sweep and its report visit, in the order of their first
function call, once the command line is parsed (a module's body run by its import is not a
call; a call its body makes while imported is). Driver side: a trial's own modules run in
Ray's worker processes, and the `train` walk lists them, the same task in this process.

    .venv/bin/python benchmarks/code-walk/walk.py benchmarks/code-walk
"""

import sys
import tempfile
import threading
from pathlib import Path

from cvae_study.study import cli
from cvae_study.study.cli import boundary


def walk(argv: list[str]) -> list[str]:
    """cvae_study modules in the order this process first calls into each."""
    order: list[str] = []
    seen: set[str] = set()

    def profile(frame, event, _arg):
        if event != "call" or frame.f_code.co_name == "<module>":
            return  # an import runs a module's body: not a call into it
        module = frame.f_globals.get("__name__", "")
        if module.startswith("cvae_study") and module not in seen:
            seen.add(module)
            order.append(module)

    args = cli.build_parser().parse_args(argv)
    sys.setprofile(profile)
    threading.setprofile(profile)
    try:
        code = boundary.guarded(args.run, args)
    finally:
        sys.setprofile(None)
        threading.setprofile(None)
    if code != 0:
        raise SystemExit(f"{' '.join(argv)} exited {code}")
    return order


def main(out: Path) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        where = ["--workdir", workdir]
        walks = {"sweep": ["sweep", "text", "--smoke", "--name", "walk", *where],
                 "report": ["report", "walk", *where, "--out", f"{workdir}/report"],
                 "train": ["train", "text", "--epochs", "1", "--set", "model.hidden_size=32",
                           "--set", "eval.verbs=10", "--set", "eval.samples=5", *where]}
        for name, argv in walks.items():
            modules = walk(argv)
            text = "\n".join(f"{i:3d}  {m.removeprefix('cvae_study.')}"
                             for i, m in enumerate(modules, 1))
            (out / f"{name}.txt").write_text(f"$ cvae-study {' '.join(argv[:3])} ...\n{text}\n")
            print(f"{name}: {len(modules)} modules")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
