"""Training-data tools: render seeded symbolic pieces and pack them into a dataset."""
