"""Search over autoregressive decoders (greedy and beam) and greedy CTC decoding.

``step(tokens [N, L]) -> log-probabilities [N, V]`` of the next token gives the decoder to search; the
returned sequences exclude ``<sos>`` and stop before ``<eos>``. Beam search keeps ``beam`` hypotheses per
sample (all samples at once, ``N = B * beam``; the caller repeats the memories with
``repeat_interleave(beam, 0)``), and ranks finished hypotheses by log-probability divided by
``length ** length_penalty`` (length counts ``<eos>``). With ``beam=1`` it is greedy decoding.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .vocab import EOS, SOS

Step = Callable[[torch.Tensor], torch.Tensor]


def _strip(rows: torch.Tensor) -> list[list[int]]:
    out = []
    for row in rows.tolist():
        out.append(row[: row.index(EOS)] if EOS in row else row)
    return out


@torch.no_grad()
def greedy_search(step: Step, batch: int, max_len: int, device: torch.device | str = "cpu") -> list[list[int]]:
    """Most likely next token at every step, until every sequence has emitted ``<eos>`` or ``max_len``."""
    tokens = torch.full((batch, 1), SOS, dtype=torch.long, device=device)
    done = torch.zeros(batch, dtype=torch.bool, device=device)
    for _ in range(max_len):
        nxt = step(tokens).argmax(dim=-1)
        nxt = torch.where(done, torch.full_like(nxt, EOS), nxt)
        tokens = torch.cat([tokens, nxt[:, None]], dim=1)
        done |= nxt == EOS
        if done.all():
            break
    return _strip(tokens[:, 1:])


@torch.no_grad()
def beam_search(
    step: Step, batch: int, beam: int, max_len: int, length_penalty: float = 1.0, device: torch.device | str = "cpu"
) -> list[list[int]]:
    """Beam search with length normalisation; ``step`` sees ``batch * beam`` rows (sample-major)."""
    tokens = torch.full((batch * beam, 1), SOS, dtype=torch.long, device=device)
    scores = torch.full((batch, beam), float("-inf"), device=device)
    scores[:, 0] = 0.0
    done = torch.zeros(batch, beam, dtype=torch.bool, device=device)
    lengths = torch.zeros(batch, beam, device=device)
    for _ in range(max_len):
        logp = step(tokens).view(batch, beam, -1)
        vocab = logp.shape[-1]
        frozen = torch.full_like(logp, float("-inf"))
        frozen[..., EOS] = 0.0  # a finished hypothesis only extends by <eos> at no cost
        logp = torch.where(done[..., None], frozen, logp)
        top = (scores[..., None] + logp).view(batch, -1).topk(beam, dim=-1)
        origin, nxt = top.indices // vocab, top.indices % vocab
        rows = (origin + torch.arange(batch, device=device)[:, None] * beam).view(-1)
        tokens = torch.cat([tokens[rows], nxt.view(-1, 1)], dim=1)
        lengths = lengths.gather(1, origin) + (~done.gather(1, origin)).float()
        done = done.gather(1, origin) | (nxt == EOS)
        scores = top.values
        if done.all():
            break
    ranked = scores / lengths.clamp(min=1) ** length_penalty
    best = ranked.argmax(dim=1) + torch.arange(batch, device=device) * beam
    return _strip(tokens[best, 1:])


def ctc_greedy(log_probs: torch.Tensor, lengths: torch.Tensor, blank: int) -> list[list[int]]:
    """Argmax path per frame, repeats collapsed, blanks dropped (``log_probs [B, T, V]``)."""
    best = log_probs.argmax(dim=-1)
    keep = torch.ones_like(best, dtype=torch.bool)
    keep[:, 1:] = best[:, 1:] != best[:, :-1]
    keep &= best != blank
    keep &= torch.arange(best.shape[1], device=best.device)[None, :] < lengths[:, None]
    return [row[mask].tolist() for row, mask in zip(best, keep)]
