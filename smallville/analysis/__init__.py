"""Metrics over stored runs; reads only the run store (never the engine, the runner or cognition).

``source`` (a run as analysis reads it), ``diffusion``, ``network``, ``gatherings``, ``usage``,
``analyze`` (all of them, and the flat metrics), ``report`` and ``plots``, ``paper`` (Park et al.
2023's figures), ``stats`` (bootstrap), ``multiverse`` (aggregation over runs), ``compare``.
"""
