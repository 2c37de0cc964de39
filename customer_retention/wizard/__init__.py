from . import retention_sms_wizard
from . import sms_composer
from . import retention_call_outcome_wizard
from . import base_partner_merge
