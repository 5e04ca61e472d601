"""The steward's tools over a release: decisions, the review queue, labels, pair explanations.

``store`` keeps the append-only decision log beside the releases and applies
it in every run; ``review`` lists the uncertain pairs and records link
decisions and field overrides (``fusion review``); ``labelling`` asks for and
stores yes/no answers on the pairs the model is least sure of (``fusion
label``); ``explain`` rebuilds one pair's match-weight waterfall from a release
and says what the release and the stewards made of it (``fusion explain``).
None of it imports Dagster; the match-weight arithmetic itself is
``matching.waterfall``.
"""
