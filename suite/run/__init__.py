"""Running a case: the runner that calls workers, with the failure that ends a case (pipeline); the
export stages (export_stages) over the cached exports (exports) and references (references); a
case run to its row (records); the cache and what its keys carry (cache, key_parts); the case matrix
and ids (cases); variants built through the cache (variants); the transforms catalog (transforms).

A failure of the harness itself is never a verdict on a model: a worker call that names no
function, or a programming error (TypeError, NameError, AttributeError ...) raised in zoo-suite's
own code, is a `crash` row "harness error at suite/<file>:<line> ... (a bug of zoo-suite, not a
verdict on the model)", which is never cached; a cached failure that a later version recognises
as such runs again.

A verdict must not depend on which cases ran before it in a worker: each export starts from a
freshly built model. `scripts/order_independence.sh` runs the default profile's torch-export
cases in one process and in one process per model and exporter, each from a cold cache, and
lists the cases whose status, stage or message differ (none when last run; about 15 min on 2 cores).
"""
