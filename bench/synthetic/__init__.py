"""The synthetic customer world behind ``bench.generate_synthetic``.

One module per job: ``draw`` (seeded draws and unique numbers), ``people``
(person names at real frequencies, households), ``companies`` (Chinese and
English company naming, brand groups, contacts), ``world`` (customers, their
histories and the records each one has), ``noise`` (typos, IME homophones,
traditional script, phone formats) and ``render`` (each source's export of a
record).
"""
