"""A pytest plugin for the order-independence test: runs the collected cases in reverse order."""

import pytest


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.reverse()
