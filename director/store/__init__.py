"""The bottom layer: atomic files, the content-addressed cache, the project lock, progress steps.

It imports nothing of director above it (only errors and the secrets filter), so every other layer may use it.
"""
