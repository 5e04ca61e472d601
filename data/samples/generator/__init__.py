"""Seeded generator of the bundled sample exports (see ``data/samples/generate.py``).

Stages, each fed by its own random stream: ``world`` (true customers and
look-alikes) -> ``plan`` (which export holds which record, when, stale or
fresh) -> ``render`` (each system's format and habits, plus ``noise``) ->
``defects`` (rows a loader must reject) -> ``output`` (ids, files, truth).
"""
