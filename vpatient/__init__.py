"""vpatient: an AI virtual-patient conversation trainer."""

__version__ = "0.1.0"
