from . import res_company
from . import res_config_settings
from . import res_partner
from . import retention_partner_state
from . import retention_sms_campaign
from . import sale_order
from . import account_move
from . import retention_status_change
