import pytest
import torch
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

from cvae_study.study.names import val_psnr_at
from cvae_study.study.scoring import (
    active_units,
    bleu4,
    gaussian_score,
    mean_bleu4,
    morph_score,
)


def test_bleu4_matches_the_lab_example():
    # The lab's compute_bleu("access", "accessed") takes (output, reference).
    assert bleu4("accessed", "access") == pytest.approx(0.7165, abs=5e-5)
    assert bleu4("access", "accessed") == pytest.approx(0.6804, abs=5e-5)


def test_bleu4_of_an_exact_match_is_one():
    assert bleu4("running", "running") == 1.0
    assert bleu4("ran", "ran") == pytest.approx(1.0)


def test_bleu4_uses_trigram_weights_for_three_letter_references():
    expected = sentence_bleu(
        [list("ran")],
        list("run"),
        weights=(1 / 3,) * 3,
        smoothing_function=SmoothingFunction().method1,
    )
    assert bleu4("ran", "run") == pytest.approx(expected)
    assert bleu4("ran", "") == 0.0


def test_mean_bleu4():
    assert mean_bleu4([]) == 0.0
    assert mean_bleu4([("running", "running"), ("accessed", "access")]) == pytest.approx(
        (1.0 + 0.7165) / 2, abs=5e-5
    )


def test_gaussian_score_counts_each_sample():
    train_rows = [("go", "goes", "going", "went"), ("walk", "walks", "walking", "walked")]
    generated = [
        ("go", "goes", "going", "went"),
        ("go", "goes", "going", "went"),
        ("walk", "walks", "walking", "walkd"),
        ("run", "runs", "running", "ran"),
    ]
    assert gaussian_score(generated, train_rows) == 0.5
    assert gaussian_score([], train_rows) == 0.0


def test_morph_score_accepts_consistent_inflection_sets():
    assert morph_score([("run", "runs", "running", "ran")]) == 1.0
    # An invented verb is judged by lemminflect's spelling rules.
    assert morph_score([("blork", "blorks", "blorking", "blorked")]) == 1.0
    assert morph_score([("run", "runs", "runing", "ran")]) == 0.0
    assert morph_score([("", "s", "ing", "ed")]) == 0.0
    assert morph_score([("run", "runs", "running", "ran"), ("go", "gos", "going", "went")]) == 0.5
    assert morph_score([]) == 0.0


def test_active_units_counts_dimensions_that_vary_across_inputs():
    means = torch.zeros(100, 4)
    means[:, 1] = torch.linspace(-1, 1, 100)
    means[:, 3] = torch.randn(100, generator=torch.Generator().manual_seed(0))
    means[:, 2] = 0.001 * torch.linspace(-1, 1, 100)  # varies, but below the threshold
    assert active_units(means) == 2
    with pytest.raises(ValueError, match="num_inputs, latent"):
        active_units(torch.zeros(4))


def test_psnr_metric_names():
    assert val_psnr_at(3) == "val/psnr_t3"
