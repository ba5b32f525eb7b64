"""Verdicts: element-wise comparison (compare), float32 floor bounds (floor), a candidate judged at
every size and draw (hops), the seeded inputs it is judged on (inputs).
"""
