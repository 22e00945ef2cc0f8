"""Use cases shared by the API and the CLI: import, embed, search, stats."""
