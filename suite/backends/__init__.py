"""Backends that run an Artifact. An ORT execution provider is a configuration, not a class."""
