import {openRetentionMenu} from "./retention_tour_steps.esm";
import {registry} from "@web/core/registry";

// A salesperson looks back: Retention > Retention Analysis > Who Came Back,
// every month rather than the default one, the customers of a cell who did
// not come back opened as a partner list; then the cohorts and the weekly
// pulse. Data comes from the Python test (test_ui_tour.py).
registry.category("web_tour.tours").add("customer_retention_analysis_tour", {
    url: "/odoo",
    steps: () => [
        ...openRetentionMenu(
            "customer_retention.menu_retention_analysis_salesman_report",
            "Open Who Came Back"
        ),
        {
            content: "The pivot counts customers served and the return rate",
            trigger:
                '.o_pivot thead:has(.o_pivot_measure_row:contains("Customers Served")):has(.o_pivot_measure_row:contains("Return Rate"))',
        },
        {
            content: "Drop the default period: every month",
            trigger: '.o_searchview_facet:not(:contains("Months")) .o_facet_remove',
            run: "click",
        },
        {
            content: "Only the Months facet is left",
            trigger:
                '.o_searchview:not(:has(.o_searchview_facet:not(:contains("Months"))))',
        },
        {
            content: "Open the rows of the salesperson's cell",
            trigger:
                ".o_pivot tbody tr:has(.o_pivot_header_cell_closed) td.o_pivot_cell_value",
            run: "click",
        },
        {
            content: "The cell's rows are listed",
            trigger: ".o_list_view .o_data_row",
        },
        {
            content: "Keep the customers who did not come back",
            trigger: ".o_searchview_dropdown_toggler",
            run: "click",
        },
        {
            trigger: ".o_filter_menu .o-dropdown-item:contains(/^Did Not Come Back$/)",
            run: "click",
        },
        {
            content: "The filter is on",
            trigger: '.o_searchview_facet:contains("Did Not Come Back")',
        },
        {
            content: "Overdue Garage, silent for 100 days, did not come back",
            trigger: '.o_list_view .o_data_cell:contains("Overdue Garage")',
        },
        {
            content: "Open them as customers",
            trigger: '.o_control_panel button:contains("Open as Customers")',
            run: "click",
        },
        {
            content: "The partner list shows them, ready for an SMS, a tag or a call",
            trigger: '.o_list_view .o_data_row .o_data_cell:contains("Overdue Garage")',
        },
        {
            content: "Open the Retention menu again",
            trigger:
                '[data-menu-xmlid="customer_retention.menu_customer_retention_root"]',
            run: "click",
        },
        {
            content: "Open the cohorts",
            trigger:
                '[data-menu-xmlid="customer_retention.menu_retention_analysis_salesman_cohort"]',
            run: "click",
        },
        {
            content: "The matrix shows the share still buying",
            trigger:
                '.o_pivot thead:has(.o_pivot_measure_row:contains("Still Buying"))',
        },
        {
            content: "Open the Retention menu again",
            trigger:
                '[data-menu-xmlid="customer_retention.menu_customer_retention_root"]',
            run: "click",
        },
        {
            content: "Open the visits per week",
            trigger:
                '[data-menu-xmlid="customer_retention.menu_retention_analysis_salesman_pulse_week"]',
            run: "click",
        },
        {
            content: "The graph is drawn, with no error",
            trigger: "body:not(:has(.o_error_dialog)) .o_graph_renderer canvas",
        },
        {
            content: "Open the Retention menu again",
            trigger:
                '[data-menu-xmlid="customer_retention.menu_customer_retention_root"]',
            run: "click",
        },
        {
            content: "Open the customers by status at each month end",
            trigger:
                '[data-menu-xmlid="customer_retention.menu_retention_analysis_salesman_status_month"]',
            run: "click",
        },
        {
            // The breadcrumb changes once the new view has loaded its data.
            content: "The customers by status open",
            trigger: '.o_breadcrumb .active:contains("Customers by Status")',
        },
        {
            content: "The stacked statuses are drawn, with no error",
            trigger: "body:not(:has(.o_error_dialog)) .o_graph_renderer canvas",
        },
        {
            content: "Open the Retention menu again",
            trigger:
                '[data-menu-xmlid="customer_retention.menu_customer_retention_root"]',
            run: "click",
        },
        {
            content: "Open the status flows",
            trigger:
                '[data-menu-xmlid="customer_retention.menu_retention_analysis_salesman_status_flow"]',
            run: "click",
        },
        {
            content: "The status flows open",
            trigger: '.o_breadcrumb .active:contains("Status Flows")',
        },
        {
            content: "The flows pivot opens, with no error",
            trigger:
                'body:not(:has(.o_error_dialog)) .o_pivot thead:has(.o_pivot_measure_row:contains("Customers"))',
        },
    ],
});
