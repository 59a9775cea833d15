"""Who may get what, why, under which law: organisations, datasets, agreements."""
