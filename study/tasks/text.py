"""The text CVAE task: tense conversion and verb generation. No Ray, no MLflow.

Training batches are verbs; each verb's four forms are pre-padded into one tensor so a
batch is a single index, and every step runs the encoder and decoder once over the batch.
"""

import math
import random
from typing import Any

import torch
import torch.nn.functional as F

from cvae_study.datasets import tense
from cvae_study.models.text_cvae import TextCVAE
from cvae_study.models.vae import gaussian_kl, kl_penalty, reparameterize
from cvae_study.study import names as n
from cvae_study.study import scoring
from cvae_study.study.config.schema import TextConfig, TextDataConfig
from cvae_study.study.tasks.base import SAMPLE_SEED, Evaluation, Task, build_optimizer

NUM_TENSES = len(tense.TENSES)
EXHAUSTIVE_SAMPLES = 1000  # a tighter Gaussian-score estimate than the lab's 100


def load_data(cfg: TextDataConfig) -> tense.TenseData:
    if cfg.source == "lab":
        return tense.load_lab(cfg.dir, cfg.heldout_fraction, cfg.split_seed)
    return tense.load_default(cfg.heldout_fraction, cfg.split_seed)


def _form_tensors(rows) -> tuple[torch.Tensor, torch.Tensor]:
    """rows of four words -> tokens (N, 4, L) letters + EOS padded, lengths (N, 4)."""
    words = [word for row in rows for word in row]
    tokens, lengths = tense.pad_words(words, add_sos=False)
    return tokens.view(len(rows), NUM_TENSES, -1), lengths.view(len(rows), NUM_TENSES)


def _sos_shift(targets: torch.Tensor) -> torch.Tensor:
    """Decoder inputs: SOS then the targets shifted right. (B, L) -> (B, L)."""
    sos = torch.full_like(targets[:, :1], tense.SOS)
    return torch.cat([sos, targets[:, :-1]], dim=1)


def word_nll(logits: torch.Tensor, targets: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Summed cross-entropy of each word up to and including EOS. -> (B,)."""
    steps = min(logits.size(1), targets.size(1))
    logits, targets = logits[:, :steps], targets[:, :steps]
    per_token = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none")  # (B, L)
    mask = torch.arange(steps, device=targets.device) < lengths.unsqueeze(1)
    return (per_token * mask).sum(dim=1)


def sequence_length(rows) -> int:
    """Longest word of the rows in tokens, letters + EOS: how long decoding may run."""
    return 1 + max(len(word) for row in rows for word in row)


@torch.no_grad()
def convert_words(model: TextCVAE, items: list[tense.Conversion], max_len: int) -> list[str]:
    """Greedy conversion: encode the source (posterior mean), decode in the target tense."""
    if not items:
        return []
    model.eval()
    device = next(model.parameters()).device
    source, lengths = tense.pad_words([c.source for c in items], add_sos=False)
    source_tense = torch.tensor([c.source_tense for c in items], device=device)
    target_tense = torch.tensor([c.target_tense for c in items], device=device)
    mean, _ = model.encode(source.to(device), lengths.to(device), source_tense)
    _, tokens = model.decode_free_running(mean, target_tense, max_len + 2)
    return [tense.decode_ids(row) for row in tokens.tolist()]


@torch.no_grad()
def generate_words(model: TextCVAE, count: int, seed: int, max_len: int,
                   beam: int = 1) -> list[tuple[str, str, str, str]]:
    """count z ~ N(0, I), each decoded under all four tenses (beam search when beam > 1)."""
    model.eval()
    device = next(model.parameters()).device
    noise = torch.Generator().manual_seed(seed)
    z = torch.randn(count, model.config.latent_size, generator=noise).to(device)
    z = z.repeat_interleave(NUM_TENSES, dim=0)
    tenses = torch.arange(NUM_TENSES, device=device).repeat(count)
    if beam > 1:
        tokens = model.decode_beam(z, tenses, max_len + 2, beam)
    else:
        _, tokens = model.decode_free_running(z, tenses, max_len + 2)
    words = [tense.decode_ids(row) for row in tokens.tolist()]
    return [tuple(words[i : i + NUM_TENSES]) for i in range(0, len(words), NUM_TENSES)]


class TextTask(Task):
    name = "text"
    load_data = staticmethod(load_data)

    def __init__(self, config: TextConfig, device: torch.device, data: tense.TenseData = None):
        super().__init__(config, device, data)
        self.model = TextCVAE(config.model, tense.VOCAB_SIZE, NUM_TENSES).to(device)
        self.optimizer = build_optimizer(
            config.optim.name, self.model.parameters(), config.optim.lr
        )
        self.tokens, self.lengths = (t.to(device) for t in _form_tensors(self.data.train))
        self.max_len = sequence_length(self.data.train)
        self.steps_per_epoch = math.ceil(len(self.data.train) / config.train.batch_size)
        self._eval_rows = self._pick_eval_rows(config.eval.verbs)

    def _pick_eval_rows(self, limit: int) -> dict[str, tuple]:
        """A fixed, seeded subset of `limit` verbs per protocol (0 = every verb)."""
        rng = random.Random(self.config.train.seed)

        def subset(rows):
            if not limit or len(rows) <= limit:
                return tuple(rows)
            return tuple(rng.sample(rows, limit))

        return {"seen": subset(self.data.train), "heldout": subset(self.data.heldout)}

    # ---- training -------------------------------------------------------------------------

    def training_loss(self, index: torch.Tensor, beta: float, teacher_forced: bool):
        """index (B,) verbs -> loss, recon (per encoding), true KL (per encoding)."""
        cfg = self.config
        batch = index.numel()
        targets = self.tokens[index].view(batch * NUM_TENSES, -1)  # (4B, L)
        target_lengths = self.lengths[index].view(-1)
        target_tense = torch.arange(NUM_TENSES, device=self.device).repeat(batch)  # (4B,)
        if cfg.train.objective == "all_tenses":
            source_tense = torch.randint(NUM_TENSES, (batch,), generator=self.generator)
            source_tense = source_tense.to(self.device)
            source = self.tokens[index, source_tense]  # (B, L)
            source_lengths = self.lengths[index, source_tense]
        else:
            source, source_lengths, source_tense = targets, target_lengths, target_tense
        mean, logvar = self.model.encode(source, source_lengths, source_tense)  # (E, Z)
        z = reparameterize(mean, logvar)
        if cfg.train.objective == "all_tenses":
            z = z.repeat_interleave(NUM_TENSES, dim=0)  # (4B, Z): one z decodes all forms
        if teacher_forced:
            logits = self.model.decode_teacher_forced(
                z, target_tense, _sos_shift(targets), cfg.train.word_dropout
            )
        else:
            logits, _ = self.model.decode_free_running(z, target_tense, self.max_len)
        encodings = mean.size(0)
        recon = word_nll(logits, targets, target_lengths).sum() / encodings
        kl_per_dim = gaussian_kl(mean, logvar)
        loss = recon + beta * kl_penalty(kl_per_dim, cfg.kl.free_bits, cfg.kl.capacity)
        return loss, recon, kl_per_dim.sum(dim=1).mean()

    def batches(self):
        order = torch.randperm(len(self.data.train), generator=self.generator).to(self.device)
        return order.split(self.config.train.batch_size)

    # ---- evaluation -----------------------------------------------------------------------

    def convert(self, items: list[tense.Conversion]) -> list[str]:
        return convert_words(self.model, items, self.max_len)

    def generate(self, count: int, seed: int) -> list[tuple[str, str, str, str]]:
        return generate_words(self.model, count, seed, self.max_len, self.config.eval.beam)

    def _bleu(self, items: list[tense.Conversion]) -> tuple[float, list[str]]:
        predictions = self.convert(items)
        pairs = zip((c.target for c in items), predictions, strict=True)
        return scoring.mean_bleu4(pairs), predictions

    @torch.no_grad()
    def _posterior_stats(self, rows) -> dict[str, Any]:
        """ELBO (KL weight 1), KL per dimension and active units over every form of `rows`."""
        self.model.eval()
        tokens, lengths = (t.to(self.device) for t in _form_tensors(rows))
        tokens, lengths = tokens.flatten(0, 1), lengths.flatten()
        tenses = torch.arange(NUM_TENSES, device=self.device).repeat(len(rows))
        mean, logvar = self.model.encode(tokens, lengths, tenses)
        z = reparameterize(mean, logvar)
        logits = self.model.decode_teacher_forced(z, tenses, _sos_shift(tokens))
        kl_per_dim = gaussian_kl(mean, logvar)
        nll = word_nll(logits, tokens, lengths).mean()
        kl = kl_per_dim.sum(dim=1).mean()
        return {
            n.VAL_ELBO: -(nll + kl).item(),
            n.VAL_KL: kl.item(),
            n.VAL_ACTIVE_UNITS: float(scoring.active_units(mean)),
            "kl_per_dim": kl_per_dim.mean(dim=0).tolist(),
        }

    def evaluate(self, exhaustive: bool = False) -> Evaluation:
        """Metrics on the eval subsets, with sample conversions and generated tuples;
        exhaustive: every verb, 1000 samples."""
        rows = self._pick_eval_rows(0) if exhaustive else self._eval_rows
        seen_items = tense.conversions(rows["seen"])
        heldout_items = tense.conversions(rows["heldout"])
        lab_items = list(self.data.lab_test)
        heldout_bleu, heldout_pred = self._bleu(heldout_items)
        # With the lab's files, "seen" is the lab's own test.txt (its verbs are training verbs).
        seen_bleu, seen_pred = self._bleu(lab_items or seen_items)
        count = EXHAUSTIVE_SAMPLES if exhaustive else self.config.eval.samples
        generated = self.generate(count, SAMPLE_SEED)
        gaussian = scoring.gaussian_score(generated, self.data.train)
        stats = self._posterior_stats(rows["heldout"] or rows["seen"])
        kl_per_dim = stats.pop("kl_per_dim")
        results = {
            n.VAL_BLEU4: heldout_bleu,
            n.VAL_BLEU4_SEEN: seen_bleu,
            n.VAL_GAUSSIAN: gaussian,
            n.VAL_MORPH: scoring.morph_score(generated),
            n.VAL_SCORE: (heldout_bleu + gaussian) / 2,
            **stats,
        }
        results.update({n.val_kl_dim(j): value for j, value in enumerate(kl_per_dim)})
        train_rows = set(self.data.train)
        samples = {
            "conversions": [
                {"protocol": protocol, "from": tense.TENSES[c.source_tense], "source": c.source,
                 "to": tense.TENSES[c.target_tense], "target": c.target, "predicted": p}
                for protocol, items, preds in (
                    ("lab_test" if lab_items else "seen", lab_items or seen_items, seen_pred),
                    ("heldout", heldout_items, heldout_pred),
                )
                for c, p in list(zip(items, preds, strict=True))[:24]
            ],
            "generated": [
                {"words": list(row), "in_training_table": row in train_rows}
                for row in generated
            ],
        }
        return Evaluation(results, samples)
