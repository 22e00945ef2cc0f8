"""CLI command groups, each registered in nrtd_nlp/cli.py with one line."""
