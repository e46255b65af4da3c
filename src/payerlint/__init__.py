"""payerlint: check outpatient therapy claims against payer rules before they are submitted."""

__version__ = "0.1.0"
