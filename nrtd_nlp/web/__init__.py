"""Templates and static files of the review page (served by nrtd_nlp.api.routes.pages)."""
