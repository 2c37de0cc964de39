from . import test_cron
from . import test_multi_company
from . import test_recompute
from . import test_settings
from . import test_sources
from . import test_views
from . import test_ui_tour
from . import test_sms
