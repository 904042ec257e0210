"""propsim: agent-based simulation of pro-IS propaganda on social media (2014-2016).

Data flows one way: YAML (``loader``) -> validated ``scenario.Scenario`` -> ``model``
(``population``, ``network``, ``accounts``, ``counter``, ``moderation``, ``encrypted``,
``observation``, with the hot loops in ``kernels``) -> daily ``metrics`` -> ``results`` folder
-> ``plots``. ``runner`` runs replicates; ``cli`` is the thin ``propsim`` command over all of it.
"""
