"""Generated zoo families: every torchvision model builder and transformers architectures from small configs.

Nothing here is written model by model. Each module enumerates what its library offers (or, for
transformers, a table of architectures and the kind of inputs each takes) and registers one entry
per model, with seeded random weights and inputs sized for this machine. The corpus profile
(`--zoo-profile corpus`) loads these modules; the default profile never does.

An entry the generator cannot build or feed is still an entry: its rows say why (model_error),
and an entry over the size cap (zoo.corpus.size_cap) is a skipped row naming its size.
"""

MODULES = ("zoo.corpus.torchvision_zoo", "zoo.corpus.transformers_zoo")
