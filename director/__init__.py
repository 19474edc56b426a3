"""director: screenplay to finished short-drama episode on the studio's own machines."""

__version__ = "0.1.0"
