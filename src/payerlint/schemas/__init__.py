"""The JSON schemas payerlint ships; a package so importlib.resources can find them."""
