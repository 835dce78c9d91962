"""The scores of the tense lab (BLEU-4, Gaussian score), of morphology, of VAEs in general
(active units) and of video prediction (PSNR). Their names are in names.py."""

import functools
from collections.abc import Collection, Iterable, Sequence

import torch
from lemminflect import getAllInflections, getAllInflectionsOOV
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

from cvae_study.datasets.tense import INFLECTION_TAGS, LOWERCASE_WORD

_SMOOTHING = SmoothingFunction().method1


@functools.lru_cache(maxsize=65536)
def bleu4(reference: str, hypothesis: str) -> float:
    """The lab's character BLEU-4 of `hypothesis` against `reference`.

    Three-letter references use 3-gram weights, as the lab does; shorter ones keep
    4-gram weights, so even an exact match of a two-letter word scores below 1.
    """
    weights = (1 / 3,) * 3 if len(reference) == 3 else (0.25,) * 4
    # float(): sentence_bleu returns the int 0 when nothing matches.
    return float(
        sentence_bleu(
            [list(reference)], list(hypothesis), weights=weights, smoothing_function=_SMOOTHING
        )
    )


def mean_bleu4(pairs: Iterable[tuple[str, str]]) -> float:
    """Mean BLEU-4 over (reference, hypothesis) pairs; 0.0 when there are none."""
    scores = [bleu4(reference, hypothesis) for reference, hypothesis in pairs]
    return sum(scores) / len(scores) if scores else 0.0


def gaussian_score(
    generated: Sequence[tuple[str, str, str, str]],
    train_rows: Collection[tuple[str, str, str, str]],
) -> float:
    """Fraction of generated four-word tuples that are a row of the training table."""
    if not generated:
        return 0.0
    known_rows = {tuple(row) for row in train_rows}
    return sum(tuple(words) in known_rows for words in generated) / len(generated)


def morph_score(generated: Sequence[tuple[str, str, str, str]]) -> float:
    """Fraction of generated tuples that are a consistent English inflection set.

    Unlike the Gaussian score, this also credits well-formed verbs the model never saw.
    """
    if not generated:
        return 0.0
    return sum(_is_inflection_set(*words) for words in generated) / len(generated)


def _is_inflection_set(sp: str, tp: str, pg: str, p: str) -> bool:
    if not LOWERCASE_WORD.fullmatch(sp):
        return False
    forms = _verb_inflections(sp)
    return all(
        word in forms.get(tag, ()) for word, tag in zip((tp, pg, p), INFLECTION_TAGS, strict=True)
    )


@functools.lru_cache(maxsize=65536)
def _verb_inflections(lemma: str) -> dict[str, tuple[str, ...]]:
    # Unknown lemmas are judged by lemminflect's spelling rules, so invented verbs can pass.
    return getAllInflections(lemma, upos="VERB") or getAllInflectionsOOV(lemma, "VERB")


def active_units(means: torch.Tensor, threshold: float = 0.01) -> int:
    """Latent dimensions whose posterior mean varies across inputs (Burda et al. 2016).

    `means` has shape (num_inputs, latent); a unit is active when the variance of its
    mean over the inputs exceeds `threshold`.
    """
    if means.dim() != 2:
        raise ValueError(f"means must have shape (num_inputs, latent), got {tuple(means.shape)}")
    variance = means.float().var(dim=0, correction=0)
    return int((variance > threshold).sum())


def psnr(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """10 log10(1 / MSE) of images in [0, 1], per image: (..., C, H, W) -> (...).

    An exact match (MSE 0) scores 100 dB rather than infinity, so means stay finite."""
    mse = (predicted.float() - target.float()).pow(2).mean(dim=(-3, -2, -1))
    return 10 * torch.log10(1 / mse.clamp(min=1e-10))
