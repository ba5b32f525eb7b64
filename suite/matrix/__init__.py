"""The product's tests: each module is one path through the matrix, parametrized by the plugin."""
