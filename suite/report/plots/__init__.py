"""Charts for the HTML report: small matplotlib PNGs embedded as base64 <img> tags.

Every chart function returns an HTML fragment, or "" when there is nothing to draw; rows
with missing or NaN figures are skipped rather than raising. Only matplotlib's object API
is used, never pyplot (why: figure).

Modules:
    figure: a drawn Figure to an inline-PNG ``<figure>``, the page's chart sizes, and the
        value cleaning every chart shares (numbers, text, what fits a log axis).
    ratio_axis: the log axis symmetric around 1 that the ratio charts share, with the
        "faster" / "slower" words either side of it.
    latency_bars: latency_chart and speedup_chart, grouped bars per model and variant from
        the run's latency rows.
    vs_baseline: diff_latency_chart and ab_chart, one verdict-coloured dot per case for
        this run against a baseline.
    trend: trend_chart, small multiples of p50 and status over stored runs.
"""
