"""Metrics over stored runs; reads only the run store (never the engine, the runner or cognition).

``source`` (a run as analysis reads it), ``diffusion``, ``network``, ``gatherings``, ``events``
(events followed by their facts), ``interviews`` (awareness and ties judged from interview
answers; the asking is ``smallville.measure``), ``usage``,
``analyze`` (all of them, and the flat metrics), ``report`` and ``plots``, ``paper`` (Park et al.
2023's figures), ``stats`` (bootstrap), ``multiverse`` (aggregation over runs), ``compare``.
"""
