import math

import pytest
import torch
import torch.nn.functional as F

from cvae_study.datasets.tense import EOS, SOS, VOCAB_SIZE, decode_ids, pad_words
from cvae_study.models.text_cvae import TextCVAE, TextCVAEConfig
from cvae_study.models.vae import gaussian_kl, reparameterize

WORDS = ["walk", "talking", "ran", "helps"]
TENSE = torch.tensor([0, 2, 3, 1])



VARIANTS = [
    pytest.param(cell, every, id=f"{cell}-z_every_step={every}")
    for cell in ("gru", "lstm")
    for every in (True, False)
]


def _model(cell, z_every_step):
    torch.manual_seed(0)
    config = TextCVAEConfig(
        cell=cell, hidden_size=16, latent_size=4, embedding_size=8, z_every_step=z_every_step
    )
    return TextCVAE(config)


def _batch():
    tokens, lengths = pad_words(WORDS, add_sos=False)
    inputs = torch.cat([torch.full_like(tokens[:, :1], SOS), tokens[:, :-1]], dim=1)
    return tokens, lengths, inputs


@pytest.mark.parametrize(("cell", "z_every_step"), VARIANTS)
def test_encode_returns_posterior_of_latent_size(cell, z_every_step):
    model = _model(cell, z_every_step)
    tokens, lengths, _ = _batch()
    mean, logvar = model.encode(tokens, lengths, TENSE)
    assert mean.shape == (len(WORDS), 4)
    assert logvar.shape == (len(WORDS), 4)
    assert torch.isfinite(mean).all() and torch.isfinite(logvar).all()


@pytest.mark.parametrize(("cell", "z_every_step"), VARIANTS)
def test_encode_ignores_padding(cell, z_every_step):
    model = _model(cell, z_every_step)
    tokens, lengths = pad_words(["ran"], add_sos=False)
    padded = torch.cat([tokens, torch.full((1, 5), EOS)], dim=1)
    mean, logvar = model.encode(tokens, lengths, TENSE[:1])
    mean_padded, logvar_padded = model.encode(padded, lengths, TENSE[:1])
    torch.testing.assert_close(mean, mean_padded)
    torch.testing.assert_close(logvar, logvar_padded)


@pytest.mark.parametrize(("cell", "z_every_step"), VARIANTS)
def test_teacher_forced_forward_and_backward_reach_every_parameter(cell, z_every_step):
    model = _model(cell, z_every_step)
    model.train()
    tokens, lengths, inputs = _batch()
    mean, logvar = model.encode(tokens, lengths, TENSE)
    z = reparameterize(mean, logvar)
    logits = model.decode_teacher_forced(z, TENSE, inputs)
    assert logits.shape == (len(WORDS), tokens.size(1), VOCAB_SIZE)
    recon = F.cross_entropy(logits.transpose(1, 2), tokens)
    loss = recon + gaussian_kl(mean, logvar).sum(dim=1).mean()
    loss.backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all(), name
        assert parameter.grad.abs().sum() > 0, name


@pytest.mark.parametrize(("cell", "z_every_step"), VARIANTS)
def test_free_running_decode_returns_valid_tokens(cell, z_every_step):
    model = _model(cell, z_every_step).eval()
    z = torch.randn(3, 4)
    logits, tokens = model.decode_free_running(z, torch.tensor([0, 1, 3]), max_len=7)
    assert logits.shape == (3, 7, VOCAB_SIZE)
    assert tokens.shape == (3, 7)
    assert tokens.dtype == torch.long
    assert ((tokens >= 0) & (tokens < VOCAB_SIZE)).all()
    torch.testing.assert_close(tokens, logits.argmax(dim=-1))


@pytest.mark.parametrize(("cell", "z_every_step"), VARIANTS)
def test_full_word_dropout_hides_every_letter_after_sos_in_training(cell, z_every_step):
    model = _model(cell, z_every_step).train()
    first, _ = pad_words(["walked", "eaten"], add_sos=True)
    second, _ = pad_words(["zzzzzz", "quick"], add_sos=True)
    assert first.shape == second.shape and not torch.equal(first, second)
    z, tense = torch.randn(2, 4), torch.tensor([3, 1])
    with torch.no_grad():
        dropped_a = model.decode_teacher_forced(z, tense, first, word_dropout=1.0)
        dropped_b = model.decode_teacher_forced(z, tense, second, word_dropout=1.0)
        kept_a = model.decode_teacher_forced(z, tense, first, word_dropout=0.0)
        kept_b = model.decode_teacher_forced(z, tense, second, word_dropout=0.0)
    torch.testing.assert_close(dropped_a, dropped_b)
    assert not torch.allclose(kept_a, kept_b)


@pytest.mark.parametrize(("cell", "z_every_step"), VARIANTS)
def test_word_dropout_is_off_in_eval_mode(cell, z_every_step):
    model = _model(cell, z_every_step).eval()
    first, _ = pad_words(["walked", "eaten"], add_sos=True)
    second, _ = pad_words(["zzzzzz", "quick"], add_sos=True)
    z, tense = torch.randn(2, 4), torch.tensor([3, 1])
    with torch.no_grad():
        dropped = model.decode_teacher_forced(z, tense, first, word_dropout=1.0)
        plain = model.decode_teacher_forced(z, tense, first, word_dropout=0.0)
        other = model.decode_teacher_forced(z, tense, second, word_dropout=1.0)
    torch.testing.assert_close(dropped, plain)
    assert not torch.allclose(dropped, other)


# ---- a tiny TextTask ---------------------------------------------------------------------

TRAIN_KEYS = {"train/loss", "train/kl", "train/kl_weight", "train/tf_ratio"}
VAL_KEYS = {
    "val/bleu4",
    "val/bleu4_seen",
    "val/gaussian",
    "val/morph",
    "val/score",
    "val/elbo",
    "val/active_units",
}


def test_text_task_trains_evaluates_and_samples(tiny_task):
    task = tiny_task({"kl.schedule": "cyclical"})
    first = task.train_epoch()
    second = task.train_epoch()
    assert task.epoch == 2
    assert task.step == 2 * task.steps_per_epoch == 4
    for metrics in (first, second):
        assert TRAIN_KEYS <= metrics.keys()
        assert all(math.isfinite(metrics[key]) for key in TRAIN_KEYS)
    # Cyclical KL over 4 steps in 4 cycles: every step starts a cycle, so the weight is 0.
    assert first["train/kl_weight"] == 0.0
    assert first["train/tf_ratio"] == pytest.approx(1.0)
    evaluation = task.evaluate()
    results = evaluation.metrics
    assert VAL_KEYS <= results.keys()
    assert all(math.isfinite(results[key]) for key in VAL_KEYS)
    assert 0.0 <= results["val/bleu4"] <= 1.0
    assert 0.0 <= results["val/gaussian"] <= 1.0
    assert results["val/score"] == pytest.approx(
        (results["val/bleu4"] + results["val/gaussian"]) / 2
    )
    assert 0 <= results["val/active_units"] <= 4
    assert all(math.isfinite(results[f"val/kl_dim{j:02d}"]) for j in range(4))
    samples = evaluation.samples
    assert {"conversions", "generated"} <= samples.keys()
    assert len(samples["generated"]) == 8
    assert samples["conversions"]
    protocols = {item["protocol"] for item in samples["conversions"]}
    assert protocols == {"seen", "heldout"}


def test_text_task_kl_weight_follows_the_monotonic_schedule(tiny_task):
    task = tiny_task({"kl.schedule": "monotonic", "kl.warmup_steps": 4, "kl.max_weight": 1.0})
    first = task.train_epoch()
    second = task.train_epoch()
    # Steps 0, 1 then 2, 3 of a 4-step warm-up: mean weights 0.125 and 0.625.
    assert first["train/kl_weight"] == pytest.approx(0.125)
    assert second["train/kl_weight"] == pytest.approx(0.625)


def test_text_task_learning_rate_decays_over_the_run_and_resumes_from_the_step(tiny_task):
    task = tiny_task({"optim.lr_decay": "cosine", "optim.lr": 0.01, "train.epochs": 2})
    first = task.train_epoch()
    # Steps 0 and 1 of 4: the second is a quarter into the cosine.
    assert first["train/lr"] == pytest.approx(0.005 * (1 + 2**-0.5))
    resumed = tiny_task({"optim.lr_decay": "cosine", "optim.lr": 0.01, "train.epochs": 2})
    resumed.load_state(task.state())
    assert resumed.train_epoch()["train/lr"] == pytest.approx(task.train_epoch()["train/lr"])
    assert task.optimizer.param_groups[0]["lr"] == pytest.approx(0.005 * (1 - 2**-0.5))


def _word_log_prob(model, z, tense, tokens):
    """log p(tokens up to and including the first EOS | z, tense) under teacher forcing."""
    inputs = torch.cat([torch.full_like(tokens[:, :1], SOS), tokens[:, :-1]], dim=1)
    log_probs = model.decode_teacher_forced(z, tense, inputs).log_softmax(-1)
    picked = log_probs.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)  # (B, T)
    is_eos = tokens == EOS
    first_eos = torch.where(is_eos.any(1), is_eos.float().argmax(1), tokens.size(1) - 1)
    keep = torch.arange(tokens.size(1)) <= first_eos.unsqueeze(1)
    return (picked * keep).sum(1)


@pytest.mark.parametrize(("cell", "z_every_step"), VARIANTS)
def test_beam_of_width_one_is_greedy(cell, z_every_step):
    model = _model(cell, z_every_step).eval()
    z, tense = torch.randn(12, 4), torch.arange(12) % 4
    _, greedy = model.decode_free_running(z, tense, 9)
    beam = model.decode_beam(z, tense, 9, width=1)
    assert beam.shape == (12, 9)
    assert [decode_ids(row) for row in beam.tolist()] == [decode_ids(r) for r in greedy.tolist()]


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_beam_finds_more_probable_words_than_greedy(cell):
    torch.manual_seed(3)
    model = _model(cell, True).eval()
    z, tense = torch.randn(40, 4), torch.arange(40) % 4
    with torch.no_grad():
        _, greedy = model.decode_free_running(z, tense, 9)
        beam = model.decode_beam(z, tense, 9, width=6)
        greedy_lp = _word_log_prob(model, z, tense, greedy)
        beam_lp = _word_log_prob(model, z, tense, beam)
    # A beam can prune the greedy prefix, so it is not better for every input, but it
    # finds more probable words on the whole.
    assert beam_lp.mean() > greedy_lp.mean()
    assert (beam_lp >= greedy_lp - 1e-4).float().mean() >= 0.8
