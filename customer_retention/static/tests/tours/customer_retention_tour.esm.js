import {openRetentionMenu} from "./retention_tour_steps.esm";
import {registry} from "@web/core/registry";

// A salesperson's morning: open Customer Retention, keep the customers at
// risk, look at them by status and in the pivot, then open one of them
// and bring it up to date.
// Data comes from the Python test (test_ui_tour.py).
registry.category("web_tour.tours").add("customer_retention_tour", {
    url: "/odoo",
    steps: () => [
        ...openRetentionMenu(
            "customer_retention.menu_customer_retention",
            "Open Customer Retention"
        ),
        {
            content: "The list opens on the customers with an At Risk alert",
            trigger: '.o_list_view .o_data_row .o_data_cell:contains("Overdue Garage")',
        },
        {
            content: "The side panel counts the customers per status",
            trigger:
                '.o_search_panel .o_search_panel_category_value:contains("At risk") .o_search_panel_counter',
        },
        {
            content: "Drop the default alert filter",
            trigger: ".o_searchview_facet .o_facet_remove",
            run: "click",
        },
        {
            content: "Open the filters",
            trigger: ".o_searchview_dropdown_toggler",
            run: "click",
        },
        {
            content: "Filter on the At Risk status",
            trigger: ".o_filter_menu .o-dropdown-item:contains(/^At Risk$/)",
            run: "click",
        },
        {
            content: "Only the overdue customer is left",
            trigger: '.o_searchview_facet:contains("At Risk")',
        },
        {
            trigger: '.o_list_view:not(:has(.o_data_cell:contains("Loyal Salon")))',
        },
        {
            content: "Select the overdue customer",
            trigger:
                '.o_data_row:has(.o_data_cell:contains("Overdue Garage")) .o_list_record_selector input',
            run: "click",
        },
        {
            content: "Open the Actions menu",
            trigger: ".o_control_panel .o_cp_action_menus button:has(.fa-cog)",
            run: "click",
        },
        {
            content: "Run the win-back SMS action",
            trigger: '.o-dropdown--menu .o-dropdown-item:contains("Win-back SMS")',
            run: "click",
        },
        {
            content: "The dialog counts who gets an SMS before anything is queued",
            trigger: '.modal .o_form_view div[name="send_count"]:contains("1")',
        },
        {
            content: "The preview shows the message for the customer",
            trigger:
                '.modal .o_form_view div[name="preview"]:contains("Overdue Garage")',
        },
        {
            content: "Queue the SMS",
            trigger: '.modal-footer button[name="action_queue"]',
            run: "click",
        },
        {
            // The dialog closes once queued (the test then checks the SMS);
            // the notification is not waited for: it may fade on a slow machine.
            content: "The dialog closes once the SMS is queued",
            trigger: "body:not(:has(.modal)) .o_list_view",
        },
        {
            content: "Switch to the kanban",
            trigger: "button.o_switch_view.o_kanban",
            run: "click",
        },
        {
            content: "The columns come in the status order, empty ones included",
            trigger:
                '.o_kanban_renderer:has(.o_kanban_group:nth-child(1) .o_column_title:contains("New")):has(.o_kanban_group:nth-child(4) .o_column_title:contains("Lost"))',
        },
        {
            content: "The overdue customer is in the At risk column",
            trigger:
                '.o_kanban_group:has(.o_column_title:contains("At risk")) .o_kanban_record:contains("Overdue Garage")',
        },
        {
            content: "Switch to the pivot",
            trigger: "button.o_switch_view.o_pivot",
            run: "click",
        },
        {
            content: "The pivot counts the customers and sums their revenue",
            trigger:
                '.o_pivot thead:has(.o_pivot_measure_row:contains("Count")):has(.o_pivot_measure_row:contains("Revenue"))',
        },
        {
            content: "Back to the list",
            trigger: "button.o_switch_view.o_list",
            run: "click",
        },
        {
            content: "Open the overdue customer",
            trigger: '.o_data_row .o_data_cell:contains("Overdue Garage")',
            run: "click",
        },
        {
            content: "Open the Retention tab",
            trigger: '.o_notebook .nav-link:contains("Retention")',
            run: "click",
        },
        {
            content: "The reason explains the status",
            trigger: '.o_notebook .tab-pane.active:contains("overdue")',
        },
        {
            content: "Bring this customer up to date",
            trigger:
                '.o_notebook .tab-pane.active button[name="action_retention_recompute"]',
            run: "click",
        },
        {
            content: "A success notification confirms it, no error dialog",
            trigger: ".o_notification:has(.o_notification_bar.bg-success)",
        },
        {
            trigger:
                'body:not(:has(.o_error_dialog)) .o_notebook .tab-pane.active:contains("overdue")',
        },
        {
            content: "Open the Retention menu again",
            trigger:
                '[data-menu-xmlid="customer_retention.menu_customer_retention_root"]',
            run: "click",
        },
        {
            content: "Open the win-back campaigns",
            trigger:
                '[data-menu-xmlid="customer_retention.menu_retention_sms_campaign"]',
            run: "click",
        },
        {
            content: "The campaign just queued is listed with its figures",
            trigger:
                '.o_list_view .o_data_row:has(.o_data_cell[name="sent_count"]:contains("1")) .o_data_cell[name="winback_rate"]',
            run: "click",
        },
        {
            content: "Its form tells the texted customers and the win-back",
            trigger: '.o_form_view button[name="action_open_contacted"]:contains("1")',
        },
    ],
});
