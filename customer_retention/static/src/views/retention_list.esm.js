import {onWillStart, onWillUpdateProps, useState} from "@odoo/owl";
import {ListController} from "@web/views/list/list_controller";
import {listView} from "@web/views/list/list_view";
import {registry} from "@web/core/registry";
import {useService} from "@web/core/utils/hooks";

// The Customer Retention list: until the company's first run has ended, a
// line above the rows says that the first computation is in progress and how
// many customers it has done, read again with each new search.
export class RetentionListController extends ListController {
    static template = "customer_retention.RetentionListView";

    setup() {
        super.setup();
        this.orm = useService("orm");
        this.firstRun = useState({notice: false});
        onWillStart(() => this.loadFirstRunNotice());
        // A new search, filter or page: the run may have gone on meanwhile.
        onWillUpdateProps(() => this.loadFirstRunNotice());
    }

    async loadFirstRunNotice() {
        this.firstRun.notice = await this.orm.call(
            "res.partner",
            "retention_first_run_notice",
            [],
            {context: this.props.context}
        );
    }
}

export const retentionListView = {
    ...listView,
    Controller: RetentionListController,
};

registry.category("views").add("retention_list", retentionListView);
