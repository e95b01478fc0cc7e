"""The replay viewer: an optional pygame layer that reads only the run store.

``scene`` (the stored map), ``snapshot`` (the state at a moment, plain data) and ``palette``
never import pygame; ``render`` draws a frame as a pure function of a snapshot and a view;
``app`` is the window's event loop and the headless exports. Nothing here imports the engine.
"""

import os

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # before any module here imports pygame
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")  # the viewer makes no sound
