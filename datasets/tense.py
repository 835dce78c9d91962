"""English tense tables: vocabulary, verb rows, the lab's files, and padded batches.

A verb row is the four forms (sp, tp, pg, p): simple present, third person,
present progressive, simple past. By default the rows come from lemminflect's
inflection table; the lab's train.txt / test.txt can be loaded instead.
"""

import functools
import itertools
import random
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from lemminflect.core.Inflections import Inflections

from cvae_study.datasets.errors import DataError

TENSES: tuple[str, ...] = ("sp", "tp", "pg", "p")
TENSE_LONG_NAMES = {
    "sp": "simple present",
    "tp": "third person",
    "pg": "present progressive",
    "p": "simple past",
}

SOS, EOS = 0, 1
_FIRST_LETTER_ID = 2
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
VOCAB_SIZE = _FIRST_LETTER_ID + len(_LETTERS)
VOCABULARY: tuple[str, ...] = ("<sos>", "<eos>", *_LETTERS)  # token id -> token

_SP, _TP, _PG, _P = range(len(TENSES))
# The (source, target) tenses of the ten lines of the lab's test.txt, in file order.
LAB_TEST_TENSE_PAIRS: tuple[tuple[int, int], ...] = (
    (_SP, _P),
    (_SP, _PG),
    (_SP, _TP),
    (_SP, _TP),
    (_P, _TP),
    (_SP, _PG),
    (_P, _SP),
    (_PG, _SP),
    (_PG, _P),
    (_PG, _TP),
)

# Penn Treebank tags of lemminflect for tp, pg and p; sp is the lemma itself.
INFLECTION_TAGS = ("VBZ", "VBG", "VBD")
LOWERCASE_WORD = re.compile(r"[a-z]+")

Row = tuple[str, str, str, str]


class TenseDataError(DataError):
    """A tense data file is missing or malformed, or a word, token id, tense name or split
    fraction is bad; the message names the file and line, or the value at fault."""


def parse_tense(name: str) -> int:
    """sp / tp / pg / p or their long names ("simple past", "simple-past") -> 0..3.

    Case-insensitive; '-' and '_' count as spaces; surrounding blanks are ignored.
    """
    wanted = name.strip().lower().replace("-", " ").replace("_", " ")
    for index, short in enumerate(TENSES):
        if wanted in (short, TENSE_LONG_NAMES[short]):
            return index
    raise TenseDataError(f"tense {name!r}: one of {', '.join(TENSES)} or "
                         f"{', '.join(TENSE_LONG_NAMES.values())}")


def encode_word(word: str) -> list[int]:
    """Letter ids of a lowercase a-z word, without SOS or EOS."""
    for char in word:
        if char not in _LETTERS:
            raise TenseDataError(f"word {word!r} has character {char!r} outside a-z")
    return [_FIRST_LETTER_ID + _LETTERS.index(char) for char in word]


def decode_ids(ids: Iterable[int] | torch.Tensor) -> str:
    """Letters of a token sequence, skipping SOS and stopping at the first EOS."""
    letters = []
    for token in ids:
        token = int(token)
        if token == EOS:
            break
        if token == SOS:
            continue
        if not _FIRST_LETTER_ID <= token < VOCAB_SIZE:
            raise TenseDataError(f"token id {token} is outside the vocabulary of {VOCAB_SIZE}")
        letters.append(_LETTERS[token - _FIRST_LETTER_ID])
    return "".join(letters)


@dataclass(frozen=True)
class Conversion:
    """One test item: convert `source` (in `source_tense`) into `target` (in `target_tense`)."""

    source: str
    source_tense: int
    target: str
    target_tense: int


@dataclass(frozen=True)
class TenseData:
    train: tuple[Row, ...]
    heldout: tuple[Row, ...]
    lab_test: tuple[Conversion, ...]
    source: str


def lemminflect_rows() -> list[Row]:
    """Every lemminflect verb whose four forms are a-z words, sorted."""
    return list(_lemminflect_table())


@functools.cache
def _lemminflect_table() -> tuple[Row, ...]:
    inflections = Inflections()
    overrides = inflections._getOverridesDict()
    rows = set()
    for lemma, forms in inflections._getInflDict().items():
        # Overrides replace whole tags, as in lemminflect's own getAllInflections.
        forms = {**forms, **overrides.get(lemma, {})}
        if not all(tag in forms for tag in INFLECTION_TAGS):
            continue
        row = (lemma, *(forms[tag][0] for tag in INFLECTION_TAGS))
        if all(LOWERCASE_WORD.fullmatch(word) for word in row):
            rows.add(row)
    return tuple(sorted(rows))


def split_by_lemma(
    rows: Sequence[Row],
    heldout_fraction: float,
    seed: int,
    keep_in_train: Collection[str] = frozenset(),
) -> tuple[list[Row], list[Row]]:
    """Split rows into (train, heldout) by their sp word, so no verb is in both.

    About `heldout_fraction` of the verbs go to heldout, chosen by `random.Random(seed)`;
    verbs whose sp is in `keep_in_train` always stay in train. Row order is kept.
    """
    if not 0.0 <= heldout_fraction < 1.0:
        raise TenseDataError(f"heldout_fraction must be in [0, 1), got {heldout_fraction}")
    lemmas = sorted({row[_SP] for row in rows})
    candidates = [lemma for lemma in lemmas if lemma not in keep_in_train]
    heldout_count = min(round(heldout_fraction * len(lemmas)), len(candidates))
    heldout_lemmas = set(random.Random(seed).sample(candidates, heldout_count))
    train = [row for row in rows if row[_SP] not in heldout_lemmas]
    heldout = [row for row in rows if row[_SP] in heldout_lemmas]
    return train, heldout


def load_default(heldout_fraction: float = 0.1, seed: int = 0) -> TenseData:
    """The lemminflect table split into train and heldout verbs; no lab test."""
    train, heldout = split_by_lemma(lemminflect_rows(), heldout_fraction, seed)
    return TenseData(tuple(train), tuple(heldout), lab_test=(), source="lemminflect")


def load_lab(data_dir: str | Path, heldout_fraction: float = 0.1, seed: int = 0) -> TenseData:
    """The lab's train.txt and test.txt from `data_dir`.

    Verbs with a word in test.txt stay in train, so the lab's test remains on seen verbs.
    """
    data_dir = Path(data_dir)
    rows = _read_word_lines(data_dir / "train.txt", len(TENSES), "sp tp pg p")
    lab_test = _read_lab_test(data_dir / "test.txt")
    test_words = {word for item in lab_test for word in (item.source, item.target)}
    keep_in_train = {row[_SP] for row in rows if test_words.intersection(row)}
    train, heldout = split_by_lemma(rows, heldout_fraction, seed, keep_in_train)
    return TenseData(tuple(train), tuple(heldout), lab_test, source=str(data_dir))


def _read_lab_test(path: Path) -> tuple[Conversion, ...]:
    pairs = _read_word_lines(path, 2, "source target")
    if len(pairs) != len(LAB_TEST_TENSE_PAIRS):
        raise TenseDataError(
            f"{path}: expected {len(LAB_TEST_TENSE_PAIRS)} lines of two words, got {len(pairs)}"
        )
    return tuple(
        Conversion(source, source_tense, target, target_tense)
        for (source, target), (source_tense, target_tense) in zip(
            pairs, LAB_TEST_TENSE_PAIRS, strict=True
        )
    )


def _read_word_lines(path: Path, words_per_line: int, layout: str) -> list[tuple[str, ...]]:
    """Non-blank lines of `path` split into words, each checked for count and letters."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TenseDataError(f"{path}: file not found") from None
    lines = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        words = tuple(line.split())
        if not words:
            continue
        where = f"{path} line {line_number}"
        if len(words) != words_per_line:
            raise TenseDataError(
                f"{where}: expected {words_per_line} words ({layout}), got {len(words)}"
            )
        for word in words:
            try:
                encode_word(word)
            except ValueError as error:
                raise TenseDataError(f"{where}: {error}") from None
        lines.append(words)
    if not lines:
        raise TenseDataError(f"{path}: no verbs (the file is empty)")
    return lines


def conversions(
    rows: Iterable[Row], tense_pairs: Iterable[tuple[int, int]] | None = None
) -> list[Conversion]:
    """Every row under every ordered pair of distinct tenses, or only under `tense_pairs`."""
    if tense_pairs is None:
        tense_pairs = itertools.permutations(range(len(TENSES)), 2)
    tense_pairs = list(tense_pairs)
    return [
        Conversion(row[source_tense], source_tense, row[target_tense], target_tense)
        for row in rows
        for source_tense, target_tense in tense_pairs
    ]


def pad_words(words: Sequence[str], add_sos: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids ([SOS]? + letters + [EOS], padded with EOS) of shape (batch, max_len), and lengths.

    A length counts the tokens up to and including EOS (and SOS when `add_sos`).
    """
    prefix = [SOS] if add_sos else []
    sequences = [prefix + encode_word(word) + [EOS] for word in words]
    lengths = [len(sequence) for sequence in sequences]
    max_len = max(lengths, default=0)
    ids = torch.full((len(sequences), max_len), EOS, dtype=torch.long)
    for row, sequence in enumerate(sequences):
        ids[row, : len(sequence)] = torch.tensor(sequence, dtype=torch.long)
    return ids, torch.tensor(lengths, dtype=torch.long)
