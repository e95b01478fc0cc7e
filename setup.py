"""The one compiled part: A* in C (smallville/world/_astar.c). Optional: without a C compiler
the install goes on and pathfinding runs its pure-Python search, which returns the same paths."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("smallville.world._astar", ["smallville/world/_astar.c"], optional=True,
                             extra_compile_args=["-O2"])])
