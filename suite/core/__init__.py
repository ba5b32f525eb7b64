"""The vocabulary every layer speaks: a case's row (record), how a case ended (outcome, figures),
messages, inherent time, redaction, the run folder's files. Imports nothing else of suite.
"""
