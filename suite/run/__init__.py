"""Running a case: the pipeline of export stages and the runner that calls workers (pipeline), the
cache, the case matrix and ids (cases), variants built through the cache, the transforms catalog.
"""
