from . import retention_report
from . import retention_pulse
