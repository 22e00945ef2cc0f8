"""The whole data model (../shared/DESIGN.md), so later work fills tables instead of reshaping them.

Portable SQL only (SQLite by default, PostgreSQL by URL): JSON columns, no SQLite-only constructs.
Machine output (Suggestion, Link, ClusterMember with by="model") is kept apart from human
decisions (Review, ClusterMember with by="human", Assignment with by="human"); AuditEvent is
append-only.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


MAX_INT = 2**63 - 1  # the largest INTEGER the database stores (SQLite's and PostgreSQL's BIGINT)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class ImportBatch(Base):
    """One run of an import: which file, what it did. Re-imports are recorded too."""

    __tablename__ = "imports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(40))
    format: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str | None] = mapped_column(String(500))
    file_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    children: Mapped[int] = mapped_column(Integer, default=0)
    actor: Mapped[str] = mapped_column(String(100), default="cli")
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Recommendation(Base):
    __tablename__ = "recommendations"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_recommendations_source_external_id"),
        Index("ix_recommendations_mechanism_country", "mechanism", "country"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(40))  # uhri | upr-info | thematic-list | csv | api …
    external_id: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    text_hash: Mapped[str] = mapped_column(String(64), index=True)
    language: Mapped[str | None] = mapped_column(String(8), index=True)
    language_score: Mapped[float | None] = mapped_column(Float)
    mechanism: Mapped[str | None] = mapped_column(String(40))  # UPR | CEDAW | … | SP:<mandate> | NHRI
    body: Mapped[str | None] = mapped_column(String(100))  # document symbol, e.g. A/HRC/40/8
    country: Mapped[str | None] = mapped_column(String(100))  # State under review / addressed
    recommending_state: Mapped[str | None] = mapped_column(String(300))
    cycle: Mapped[str | None] = mapped_column(String(20))
    session: Mapped[str | None] = mapped_column(String(20))
    date: Mapped[dt.date | None] = mapped_column(Date)
    response: Mapped[str | None] = mapped_column(String(40))  # accepted | noted | supported …
    paragraph: Mapped[str | None] = mapped_column(String(40))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("recommendations.id"), index=True)
    position: Mapped[int | None] = mapped_column(Integer)  # order among siblings
    translation_group: Mapped[str | None] = mapped_column(String(200), index=True)
    follow_up_status: Mapped[str] = mapped_column(String(30), default="open")
    extra: Mapped[dict | None] = mapped_column(JSON)  # source annotations and unmapped columns
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    children: Mapped[list[Recommendation]] = relationship(
        back_populates="parent", order_by="Recommendation.position"
    )
    parent: Mapped[Recommendation | None] = relationship(back_populates="children", remote_side=[id])


class ModelRun(Base):
    """One execution of a model over records; suggestions point to it."""

    __tablename__ = "model_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task: Mapped[str] = mapped_column(String(40))
    agent: Mapped[str] = mapped_column(String(200))  # model@version
    params: Mapped[dict | None] = mapped_column(JSON)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Suggestion(Base):
    __tablename__ = "suggestions"
    __table_args__ = (Index("ix_suggestions_rec_task", "rec_id", "task"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rec_id: Mapped[int] = mapped_column(ForeignKey("recommendations.id", ondelete="CASCADE"))
    task: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(String(200))
    score: Mapped[float | None] = mapped_column(Float)
    agent: Mapped[str] = mapped_column(String(200))  # model@version
    run_id: Mapped[int | None] = mapped_column(ForeignKey("model_runs.id"))
    stale: Mapped[bool] = mapped_column(Boolean, default=False)  # text changed since suggested
    # the model asserted it (at or above its threshold); False: shown to reviewers only; None: not recorded
    asserted: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Review(Base):
    """A human decision. Never written by a model; reverting adds ``reverted_at``, never deletes."""

    __tablename__ = "reviews"
    __table_args__ = (Index("ix_reviews_rec_task", "rec_id", "task"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rec_id: Mapped[int] = mapped_column(ForeignKey("recommendations.id", ondelete="CASCADE"))
    task: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(String(200))
    decision: Mapped[str] = mapped_column(String(20))  # accepted | rejected | added
    reviewer: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    comment: Mapped[str | None] = mapped_column(Text)
    suggestion_id: Mapped[int | None] = mapped_column(ForeignKey("suggestions.id"))
    reverted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    reverted_by: Mapped[str | None] = mapped_column(String(100))


class Cluster(Base):
    __tablename__ = "clusters"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # stable id, survives re-clustering
    label: Mapped[str | None] = mapped_column(String(300))
    labels: Mapped[dict | None] = mapped_column(JSON)  # language -> label
    keywords: Mapped[dict | None] = mapped_column(JSON)  # language -> [keywords]
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("clusters.id"))
    status: Mapped[str] = mapped_column(String(20), default="active")  # active | merged | retired
    run_id: Mapped[int | None] = mapped_column(ForeignKey("model_runs.id"))
    centroid: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class ClusterMember(Base):
    __tablename__ = "cluster_members"
    __table_args__ = (UniqueConstraint("cluster_id", "rec_id", name="uq_cluster_members_cluster_rec"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cluster_id: Mapped[str] = mapped_column(ForeignKey("clusters.id", ondelete="CASCADE"), index=True)
    rec_id: Mapped[int] = mapped_column(ForeignKey("recommendations.id", ondelete="CASCADE"), index=True)
    score: Mapped[float | None] = mapped_column(Float)
    by: Mapped[str] = mapped_column(String(10), default="model")  # model | human


class LinkGroup(Base):
    __tablename__ = "link_groups"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # stable id
    kind: Mapped[str] = mapped_column(String(20), default="duplicate")
    canonical_rec_id: Mapped[int | None] = mapped_column(ForeignKey("recommendations.id"))
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Link(Base):
    __tablename__ = "links"
    __table_args__ = (UniqueConstraint("rec_a", "rec_b", "kind", name="uq_links_pair_kind"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rec_a: Mapped[int] = mapped_column(ForeignKey("recommendations.id", ondelete="CASCADE"), index=True)
    rec_b: Mapped[int] = mapped_column(ForeignKey("recommendations.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # duplicate | follows_up | related | translation
    score: Mapped[float | None] = mapped_column(Float)
    explanation: Mapped[str | None] = mapped_column(Text)
    group_id: Mapped[str | None] = mapped_column(ForeignKey("link_groups.id"), index=True)
    agent: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="suggested")  # suggested|confirmed|unlinked
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Institution(Base):
    __tablename__ = "institutions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    country: Mapped[str | None] = mapped_column(String(100))
    aliases: Mapped[list | None] = mapped_column(JSON)
    mandate: Mapped[dict | None] = mapped_column(JSON)  # themes, keywords
    # set when a mandate file loaded for its country no longer lists it: never suggested or assigned again,
    # its past assignments and reviews stay; loading a file that lists it again clears it
    retired_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Assignment(Base):
    __tablename__ = "assignments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rec_id: Mapped[int] = mapped_column(ForeignKey("recommendations.id", ondelete="CASCADE"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    by: Mapped[str] = mapped_column(String(10), default="human")  # human | model
    agent: Mapped[str | None] = mapped_column(String(200))
    score: Mapped[float | None] = mapped_column(Float)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class AuditEvent(Base):
    """Append-only: who did what, when, with the state before and after."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    who: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(100))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)


class EmbeddingCache(Base):
    """Vectors keyed by (text hash, model id): nothing is embedded twice."""

    __tablename__ = "embeddings"
    text_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    model_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float32, L2-normalised
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class PairRead(Base):
    """The pair encoder's answers (link/pair_encoder.py), keyed by the two texts' hashes (in sorted order: it
    reads a pair in both orders) and the bundle that read them: no pair is read twice."""

    __tablename__ = "pair_reads"
    hash_a: Mapped[str] = mapped_column(String(64), primary_key=True)
    hash_b: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent: Mapped[str] = mapped_column(String(200), primary_key=True)
    p_different: Mapped[float] = mapped_column(Float)
    p_duplicate: Mapped[float] = mapped_column(Float)
    p_related: Mapped[float] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Job(Base):
    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="queued")  # queued|running|done|failed
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    params: Mapped[dict | None] = mapped_column(JSON)
    result: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    checkpoint: Mapped[dict | None] = mapped_column(JSON)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # fresh while a process runs it


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(20))  # reader | reviewer | admin
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
