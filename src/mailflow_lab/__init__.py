"""mailflow-lab: learn how devices send mail through Microsoft 365, against a faithful local lab."""

from .auth.spf import SpfVerdict, check_spf
from .datafile import LabDataError
from .labdns.resolver import LabDNS

__all__ = ["LabDNS", "LabDataError", "SpfVerdict", "check_spf"]
__version__ = "0.1.0"
