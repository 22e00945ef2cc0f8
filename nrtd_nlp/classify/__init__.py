"""Classification stages: taggers over label texts and embeddings, and the institution suggester."""
