import {openRetentionMenu} from "./retention_tour_steps.esm";
import {registry} from "@web/core/registry";

// A salesperson before the morning calls: open an at-risk customer, read
// their summary, plan a win-back call, then record how the call went.
// Data comes from the Python test (test_ui_tour.py).
registry.category("web_tour.tours").add("customer_retention_call_tour", {
    url: "/odoo",
    steps: () => [
        ...openRetentionMenu(
            "customer_retention.menu_customer_retention",
            "Open Customer Retention"
        ),
        {
            content: "Open the overdue customer",
            trigger: '.o_list_view .o_data_row .o_data_cell:contains("Overdue Garage")',
            run: "click",
        },
        {
            content: "Open the Retention tab",
            trigger: '.o_notebook .nav-link:contains("Retention")',
            run: "click",
        },
        {
            content: "The summary shows what the customer spent (3 x 200)",
            trigger:
                '.o_notebook .tab-pane.active .o_field_widget[name="retention_total_spent"]:contains("600")',
        },
        {
            content: "and the salesperson they usually deal with",
            trigger:
                '.o_notebook .tab-pane.active .o_field_widget[name="retention_preferred_user_id"]',
        },
        {
            content: "Plan a win-back call",
            trigger:
                '.o_notebook .tab-pane.active button[name="action_retention_plan_call"]',
            run: "click",
        },
        {
            content: "Once planned, the call waits for its outcome",
            trigger:
                '.o_notebook .tab-pane.active button[name="action_retention_call_outcome"]',
            run: "click",
        },
        {
            content: "The customer pauses for a while",
            trigger: '.modal .o_field_widget[name="outcome"] input[data-value="pause"]',
            run: "click",
        },
        {
            content: "Record the outcome",
            trigger: '.modal button[name="action_confirm"]',
            run: "click",
        },
        {
            content: "The call is listed with its outcome, without an error",
            trigger:
                'body:not(:has(.modal)) .o_notebook .tab-pane.active .o_field_widget[name="retention_call_ids"]:contains("Temporary pause")',
        },
    ],
});
