"""Everything a reader sees: the run folder's files (results) and its page (results_page) with the page's
sections (matrices, variant_tables, onnx_tf_coverage, case_tables, latency, families, frontier), the diff's
pages (diff, since_baseline), charts (plots), HTML cells. Never runs cases.
"""
