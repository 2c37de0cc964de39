from . import retention_sms_wizard
