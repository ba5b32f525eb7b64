"""Latency A/B: two artifacts timed interleaved (interleaved), the timing worker another interpreter
runs (timing_worker), the files a run timed, kept by content (kept_artifacts).
"""
