import pytest
from sqlalchemy import func, select

from nrtd_nlp.errors import InputError
from nrtd_nlp.ingest.records import RawRecord
from nrtd_nlp.services.imports import import_file, import_records
from nrtd_nlp.services.search import Filters, search
from nrtd_nlp.store.models import AuditEvent, EmbeddingCache, Recommendation, Suggestion

from .conftest import head_rows, shared_file, write_csv


def _count(engine, model=Recommendation):
    with engine.db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_demo_import_is_idempotent(engine, demo_csv):
    first = import_file(engine, demo_csv, source="demo")
    assert first.created == 44 and first.children == 5 and first.embedded == 49
    n = _count(engine)
    again = import_file(engine, demo_csv, source="demo")
    assert (again.created, again.updated, again.children, again.embedded) == (0, 0, 0, 0)
    assert again.unchanged == 49 and _count(engine) == n
    assert _count(engine, EmbeddingCache) == 49


def test_children_link_to_parent(engine, demo_csv):
    import_file(engine, demo_csv, source="demo")
    with engine.db.session() as s:
        parent = s.scalar(select(Recommendation).where(Recommendation.external_id == "demo-041"))
        kids = [c.text for c in parent.children]
    assert kids[0].startswith("Adopt a comprehensive anti-discrimination law")
    assert len(kids) == 3 and kids[2].startswith("Strengthen the capacity of judges")


def test_changed_text_updates_and_marks_suggestions_stale(engine, tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("id,text\nr1,Ratify the Optional Protocol to the Convention against Torture\nr2,Abolish the death penalty\n")
    import_file(engine, p)
    with engine.db.session() as s:
        rid = s.scalar(select(Recommendation.id).where(Recommendation.external_id == "r1"))
        s.add(Suggestion(rec_id=rid, task="theme", value="torture", score=0.9, agent="test@1"))
    p.write_text("id,text\nr1,Ratify the Optional Protocol to the Convention against Torture promptly\n"
                 "r2,Abolish the death penalty\n")
    res = import_file(engine, p)
    assert (res.created, res.updated, res.unchanged) == (0, 1, 1)
    with engine.db.session() as s:
        assert s.scalar(select(Suggestion.stale).where(Suggestion.rec_id == rid)) is True
        assert s.get(Recommendation, rid).text.endswith("promptly")
    hits = search(engine, "Optional Protocol against Torture promptly", k=1)
    assert hits[0]["id"] == rid


def test_failing_import_leaves_store_unchanged(engine, demo_csv, tmp_path):
    import_file(engine, demo_csv, source="demo")
    before = (_count(engine), _count(engine, EmbeddingCache), _count(engine, AuditEvent))
    bad = tmp_path / "bad.csv"
    bad.write_text("id,text\nb1,Ratify the CAT\nb2,   \nb3,Abolish torture\n")
    with pytest.raises(InputError) as e:
        import_file(engine, bad)
    assert e.value.field == "text" and "row 3" in str(e.value)
    huge = [RawRecord(source="api", external_id="h", text="x" * 1_000_001, row=1)]
    with pytest.raises(InputError):
        import_records(engine, huge, fmt="json")
    assert (_count(engine), _count(engine, EmbeddingCache), _count(engine, AuditEvent)) == before


def test_failure_during_embedding_writes_nothing(engine, tmp_path, monkeypatch):
    p = tmp_path / "a.csv"
    p.write_text("id,text\nk1,Ratify the CAT\nk2,Abolish torture\n")

    def boom(*a, **k):
        raise RuntimeError("embedder crashed")

    monkeypatch.setattr(engine.embedder, "encode", boom)
    with pytest.raises(RuntimeError):
        import_file(engine, p)
    assert _count(engine) == 0


def test_a_vector_cached_meanwhile_by_another_import_is_no_error(engine, tmp_path, monkeypatch):
    """Vectors are computed before the write transaction; another process may cache the same text first."""
    from nrtd_nlp.services import imports

    p = tmp_path / "a.csv"
    p.write_text("id,text\nk1,Ratify the CAT\nk2,Abolish torture\n")
    real = imports._embed_missing

    def racing(eng, texts_by_hash, progress=None):
        out = real(eng, texts_by_hash, progress)
        with eng.db.session() as s:  # what a concurrent import commits while this one embeds
            h = next(iter(out))
            s.add(EmbeddingCache(text_hash=h, model_id=eng.embedder.model_id, dim=len(out[h]) // 4, vector=out[h]))
        return out

    monkeypatch.setattr(imports, "_embed_missing", racing)
    res = import_file(engine, p)
    assert res.created == 2 and _count(engine, EmbeddingCache) == 2


def test_index_persists_and_filters(engine, demo_csv, settings, test_embedder):
    from nrtd_nlp.services.context import Engine

    import_file(engine, demo_csv, source="demo")
    engine.close()
    fresh = Engine(settings, embedder=test_embedder)  # loads the saved index from the data folder
    assert len(fresh.index) == 49
    hits = search(fresh, "abolish the death penalty", k=3, filters=Filters(language="en"))
    assert hits and all(h["language"] == "en" for h in hits)
    assert "death penalty" in hits[0]["text"]
    assert search(fresh, "death penalty", k=5, filters=Filters(country="Nowhere")) == []
    fresh.close()


def test_upr_info_sample_round_trip(engine, tmp_path):
    header, rows = head_rows(shared_file("upr-info/upr_info_sessions01-18.csv"), 200)
    p = write_csv(tmp_path / "upr.csv", header, rows)
    assert import_file(engine, p, embed=False).created == 200
    assert import_file(engine, p, embed=False).created == 0
    with engine.db.session() as s:
        assert s.scalar(select(func.count()).where(Recommendation.language == "en")) >= 196


def test_upr_info_rows_of_one_group_in_two_files_are_two_records(engine, tmp_path):
    """An export has no ids; a row's position within its (session, State, recommending State) group is not
    one: a second file holding another row of the group must not overwrite the first (audit H1)."""
    head = "To,Text,From,Session\n"
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text(head + "Afghanistan,Enact legislation against torture,Austria,5\n")
    b.write_text(head + "Afghanistan,Establish a national preventive mechanism,Austria,5\n")
    assert import_file(engine, a, embed=False).created == 1
    res = import_file(engine, b, embed=False)
    assert (res.created, res.updated) == (1, 0)
    both = tmp_path / "both.csv"  # the whole export, rows in another order: nothing new, nothing changed
    both.write_text(head + b.read_text().splitlines()[1] + "\n" + a.read_text().splitlines()[1] + "\n")
    res = import_file(engine, both, embed=False)
    assert (res.created, res.updated, res.unchanged) == (0, 0, 2)


def test_a_paragraph_with_fewer_sub_items_leaves_no_orphans_but_keeps_human_decisions(engine, tmp_path):
    """Re-importing a treaty-body paragraph that lost a lettered item removes that sub-item, unless a
    person decided something on it (audit H3)."""
    from nrtd_nlp.services import reviews

    head = "id,text,mechanism,country\n"
    items = ["Adopt a comprehensive law on violence against women", "Ensure that victims have access to shelters",
             "Train police officers on the handling of complaints"]

    def para(n: int) -> str:
        parts = "; ".join(f"({'abc'[i]}) {t}" for i, t in enumerate(items[:n]))
        return head + f'tb-1,"The Committee recommends that the State party: {parts}.",CEDAW,Chile\n'

    p = tmp_path / "tb.csv"
    p.write_text(para(3))
    assert import_file(engine, p).children == 3

    def subs() -> list[str]:
        with engine.db.session() as s:
            return sorted(s.scalars(select(Recommendation.external_id).where(Recommendation.parent_id.is_not(None))))

    p.write_text(para(2))
    res = import_file(engine, p)
    assert subs() == ["tb-1#a", "tb-1#b"] and len(res.orphaned_sub_items["removed"]) == 1
    assert all("police" not in h["text"] for h in search(engine, "Train police officers", k=5))  # not in the index
    with engine.db.session() as s:
        b = s.scalar(select(Recommendation.id).where(Recommendation.external_id == "tb-1#b"))
        a = s.scalar(select(Recommendation.id).where(Recommendation.external_id == "tb-1#a"))
    reviews.decide(engine, decision="add", reviewer="ana", rec_id=b, task="sdg_goal", value="5")
    p.write_text(para(1))  # one item is not split: both sub-items are gone from the text
    res = import_file(engine, p)
    assert subs() == ["tb-1#b"] and res.orphaned_sub_items == {"removed": [a], "kept_with_human_decisions": [b]}
