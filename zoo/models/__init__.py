"""Built-in model families, one module each. Builders import torch lazily."""
