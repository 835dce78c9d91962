"""Character-level conditional seq2seq VAE over English verb tenses.

Encoder RNN (its initial state carries the tense) -> Gaussian posterior q(z | word, tense);
decoder RNN whose initial state is made from z and the target tense. Shapes use
B = batch, T = tokens, H = hidden, Z = latent, C = condition embedding, V = vocabulary.
"""

from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import nn


@dataclass(frozen=True)
class TextCVAEConfig:
    cell: Literal["gru", "lstm"] = "gru"
    hidden_size: int = field(default=256, metadata={"low": 8, "high": 1024})
    latent_size: int = field(default=32, metadata={"low": 1, "high": 512})
    condition_size: int = field(default=8, metadata={"low": 1, "high": 256})
    embedding_size: int = field(default=64, metadata={"low": 4, "high": 1024})
    # Feed [z, condition] to the decoder at every step, not only into its initial state,
    # so the latent cannot be forgotten over the word.
    z_every_step: bool = True


class TextCVAE(nn.Module):
    SOS, EOS = 0, 1

    def __init__(self, config: TextCVAEConfig, vocab_size: int = 28, num_conditions: int = 4):
        """vocab_size and num_conditions are facts of the data (28 tokens, 4 tenses)."""
        super().__init__()
        self.config = config
        c = config
        rnn = nn.GRU if c.cell == "gru" else nn.LSTM
        self.embedding = nn.Embedding(vocab_size, c.embedding_size)
        self.condition_embedding = nn.Embedding(num_conditions, c.condition_size)
        self.encoder_init = nn.Linear(c.condition_size, c.hidden_size)
        self.encoder = rnn(c.embedding_size, c.hidden_size, batch_first=True)
        self.to_posterior = nn.Linear(c.hidden_size, 2 * c.latent_size)
        self.decoder_init = nn.Linear(c.latent_size + c.condition_size, c.hidden_size)
        step_input = c.embedding_size + (c.latent_size + c.condition_size) * c.z_every_step
        self.decoder = rnn(step_input, c.hidden_size, batch_first=True)
        self.to_logits = nn.Linear(c.hidden_size, vocab_size)

    def _initial_state(self, projected: torch.Tensor):
        h0 = torch.tanh(projected).unsqueeze(0)  # (1, B, H)
        return h0 if self.config.cell == "gru" else (h0, torch.zeros_like(h0))

    def encode(self, tokens: torch.Tensor, lengths: torch.Tensor, tense: torch.Tensor):
        """tokens (B, T) letters + EOS, padded; lengths (B,); tense (B,) -> mean, logvar (B, Z)."""
        state = self._initial_state(self.encoder_init(self.condition_embedding(tense)))
        packed = nn.utils.rnn.pack_padded_sequence(
            self.embedding(tokens), lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        _, final = self.encoder(packed, state)
        h_last = final if self.config.cell == "gru" else final[0]  # (1, B, H)
        mean, logvar = self.to_posterior(h_last.squeeze(0)).chunk(2, dim=-1)
        return mean, logvar

    def _decoder_context(self, z: torch.Tensor, tense: torch.Tensor):
        zc = torch.cat([z, self.condition_embedding(tense)], dim=-1)  # (B, Z + C)
        return zc, self._initial_state(self.decoder_init(zc))

    def _step_inputs(self, embedded: torch.Tensor, zc: torch.Tensor) -> torch.Tensor:
        """embedded (B, T, E) -> (B, T, E [+ Z + C])."""
        if not self.config.z_every_step:
            return embedded
        return torch.cat([embedded, zc.unsqueeze(1).expand(-1, embedded.size(1), -1)], dim=-1)

    def decode_teacher_forced(
        self, z: torch.Tensor, tense: torch.Tensor, inputs: torch.Tensor, word_dropout: float = 0.0
    ) -> torch.Tensor:
        """inputs (B, T) = SOS + letters (ground truth shifted right) -> logits (B, T, V).

        word_dropout zeroes the embedding of that fraction of input tokens (Bowman et al.
        2016) so the decoder must lean on z rather than on the previous characters.
        """
        zc, state = self._decoder_context(z, tense)
        embedded = self.embedding(inputs)
        if self.training and word_dropout > 0:
            keep = torch.rand(inputs.shape, device=inputs.device) >= word_dropout
            keep[:, 0] = True  # SOS always seen
            embedded = embedded * keep.unsqueeze(-1)
        output, _ = self.decoder(self._step_inputs(embedded, zc), state)
        return self.to_logits(output)

    def decode_free_running(
        self, z: torch.Tensor, tense: torch.Tensor, max_len: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Feed back the argmax token each step -> (logits (B, max_len, V), tokens (B, max_len))."""
        zc, state = self._decoder_context(z, tense)
        token = torch.full((z.size(0), 1), self.SOS, dtype=torch.long, device=z.device)
        all_logits, tokens = [], []
        for _ in range(max_len):
            output, state = self.decoder(self._step_inputs(self.embedding(token), zc), state)
            logits = self.to_logits(output)  # (B, 1, V)
            token = logits.argmax(dim=-1)
            all_logits.append(logits)
            tokens.append(token)
        return torch.cat(all_logits, dim=1), torch.cat(tokens, dim=1)
