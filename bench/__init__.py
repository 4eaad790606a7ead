"""Benchmarks of the render engine against hand-written FFmpeg and MoviePy."""
