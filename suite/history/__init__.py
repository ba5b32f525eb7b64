"""The results history: the database (store, its tables in schema), references to stored runs and
folders (references), what changed between two runs (diff, each case's correctness change in
case_change) and whether a timing change is real (latency_verdict).
"""
