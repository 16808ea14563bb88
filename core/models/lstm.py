"""The LSTM language model, the pre-Transformer baseline.

As in Gundlach et al. 2025 (https://arxiv.org/abs/2511.21622): one LSTM layer whose
hidden size is the width, fed by a token embedding of the same width, then the
head. Each context window is its own truncated-BPTT segment: the state starts at
zero for every sequence and is never carried over.

The recipe's activation, norm, norm_placement and position fields mean nothing
to an LSTM and are ignored; only ``tied_embeddings`` is read.
"""

from dataclasses import dataclass

import torch
import torch.nn as nn
from torch.nn import functional as F

from cegbench.hookspecs import hookimpl
from cegbench.innovations import Component
from cegbench.models import ModelFamily


@dataclass
class LSTMConfig:
    vocab_size: int = 50304
    n_layer: int = 1
    n_embd: int = 64  # embedding width = hidden size
    tied_embeddings: bool = True  # True: lm_head.weight is wte.weight


class LSTMLM(nn.Module):

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        # weights keep PyTorch's default init, uniform(±1/sqrt(hidden)), biases included
        self.lstm = nn.LSTM(config.n_embd, config.n_embd, num_layers=config.n_layer, batch_first=True)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        torch.nn.init.normal_(self.lm_head.weight, mean=0.0, std=0.02)
        if config.tied_embeddings:
            self.wte.weight = self.lm_head.weight
        else:
            torch.nn.init.normal_(self.wte.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets=None):
        x = self.wte(idx)  # (B, T, C)
        x, _ = self.lstm(x)  # (B, T, C); no state passed in: it starts at zero
        logits = self.lm_head(x)  # (B, T, vocab_size)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss


class LSTMFamily(ModelFamily):
    """One-layer LSTM language models whose width is the hidden size."""

    name = "lstm"

    def depth(self, width):
        _check_width(width)
        return 1

    def config(self, recipe, width, vocab_size):
        """The ``LSTMConfig`` of the model this family builds for ``recipe`` at ``width``."""
        return LSTMConfig(vocab_size=vocab_size, n_layer=self.depth(width), n_embd=width,
                          tied_embeddings=recipe.tied_embeddings)

    def build(self, recipe, width, vocab_size, context, components):
        return LSTMLM(self.config(recipe, width, vocab_size))

    def n_params(self, recipe, width, vocab_size, context, components):
        """Embedding (and untied head) plus, per layer, the 4 gates' input and
        recurrent weights and their two bias vectors (PyTorch keeps b_ih and b_hh)."""
        c = self.config(recipe, width, vocab_size)
        C, V, L = c.n_embd, c.vocab_size, c.n_layer
        embeddings = V * C if c.tied_embeddings else 2 * V * C
        lstm = L * (4 * C * (C + C) + 2 * 4 * C)  # W_ih (4C, C), W_hh (4C, C), b_ih, b_hh
        return embeddings + lstm

    def flops_per_token(self, recipe, width, vocab_size, context, components):
        """Training FLOPs (forward + backward) per token: 48·L·d² + 6·d·V.

        Counts matrix multiplications only (2 FLOPs per multiply-add); the gate
        non-linearities, the cell update, bias adds, the embedding lookup and
        the loss are ignored. Per token and per layer the forward pass computes
        the 4 gates from the input and from the previous hidden state:
        2·4d·(d_in + d) FLOPs with d_in = d, i.e. 16·d²; the recurrent half is
        exactly the part that profilers tend to miss. The head adds 2·d·V. The
        backward pass costs twice the forward, so

            FLOPs/token = 3·(16·L·d² + 2·d·V) = 48·L·d² + 6·d·V.

        The context length does not enter: an LSTM's cost per token is constant.
        """
        c = self.config(recipe, width, vocab_size)
        C, V, L = c.n_embd, c.vocab_size, c.n_layer
        return float(3 * (L * 2 * 4 * C * (C + C) + 2 * C * V))


def _check_width(width):
    if not isinstance(width, int) or width < 1:
        raise ValueError(f"lstm width must be a positive integer, got width={width!r}")


@hookimpl
def cegbench_register_components():
    return [Component("family", "lstm", LSTMFamily(),
                      "one-layer LSTM language model, hidden size = width, state reset per sequence")]
