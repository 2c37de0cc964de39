import {openRetentionMenu} from "./retention_tour_steps.esm";
import {registry} from "@web/core/registry";

// While the company's first run is under way, the Customer Retention list
// shows the customers done so far under a line saying how far it has got
// (test_ui_tour.py stops the run half-way).
registry.category("web_tour.tours").add("customer_retention_first_run_tour", {
    url: "/odoo",
    steps: () => [
        ...openRetentionMenu(
            "customer_retention.menu_customer_retention",
            "Open Customer Retention"
        ),
        {
            content: "The customer already computed is listed",
            trigger: '.o_list_view .o_data_row:contains("Overdue Garage")',
        },
        {
            content: "Above the rows, the first run's progress",
            trigger:
                '.o_list_view .o_retention_first_run:contains("is in progress: 1 of about 2 customers done")',
        },
        {
            content: "It stays with another search",
            trigger: ".o_searchview_facet .o_facet_remove",
            run: "click",
        },
        {
            content: "Still there, over both filters' rows",
            trigger:
                '.o_list_view:not(:has(.o_searchview_facet)) .o_retention_first_run:contains("1 of about 2")',
        },
    ],
});
