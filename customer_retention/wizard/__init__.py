from . import retention_sms_wizard
from . import sms_composer
