"""Everything a reader sees: the run's results page (results), latency tables (latency), the diff's
pages (diff), charts (plots), families, the exporters' frontier, HTML cells. Never runs cases.
"""
