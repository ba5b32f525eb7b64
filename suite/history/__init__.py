"""The results history: the database (store), references to stored runs and folders (references),
what changed between two runs (diff) and whether a timing change is real (latency_verdict).
"""
