"""Thematic clusters: reduce -> HDBSCAN -> centroid assignment -> per-language labels -> stable ids.

The stages are small sklearn-style estimators over arrays; nrtd_nlp.cluster.run wires them to the
store (checkpointed batch run) and nrtd_nlp.services.clusters exposes reading and human curation.
"""
