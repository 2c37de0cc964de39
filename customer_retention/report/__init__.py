from . import retention_report
from . import retention_pulse
from . import retention_category_gap
from . import retention_source_report
