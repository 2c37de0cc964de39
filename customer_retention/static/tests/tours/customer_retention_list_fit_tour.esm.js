import {openRetentionMenu} from "./retention_tour_steps.esm";
import {registry} from "@web/core/registry";

// What a sales rep sees first, at the test browser's 1,366 x 768: every
// column header and every customer name of the Customer Retention list is
// shown whole, and the list needs no horizontal scrolling. Run once in
// English and once in Polish (test_ui_tour.py).
function cutTexts() {
    const cut = [];
    const list = document.querySelector(".o_list_renderer");
    if (list.scrollWidth > list.clientWidth + 1) {
        cut.push(
            `the list scrolls sideways (${list.scrollWidth} > ${list.clientWidth})`
        );
    }
    for (const label of document.querySelectorAll(
        ".o_list_renderer thead th[data-name] .text-truncate"
    )) {
        if (label.scrollWidth > label.clientWidth + 1) {
            cut.push(`header "${label.textContent.trim()}"`);
        }
    }
    for (const cell of document.querySelectorAll(
        '.o_list_renderer .o_data_row td[name="complete_name"], .o_list_renderer .o_data_row td[name="retention_reason"]'
    )) {
        if (cell.scrollWidth > cell.clientWidth + 1) {
            cut.push(`cell "${cell.textContent.trim()}"`);
        }
    }
    return cut;
}

registry.category("web_tour.tours").add("customer_retention_list_fit_tour", {
    url: "/odoo",
    steps: () => [
        ...openRetentionMenu(
            "customer_retention.menu_customer_retention",
            "Open Customer Retention"
        ),
        {
            content: "The list shows the customer at risk",
            trigger: '.o_list_view .o_data_row:contains("Overdue Garage")',
        },
        {
            content: "Nothing is cut at 1,366 x 768",
            trigger: ".o_list_view .o_data_row",
            run() {
                const cut = cutTexts();
                if (cut.length) {
                    throw new Error(`Cut in the retention list: ${cut.join("; ")}`);
                }
            },
        },
        {
            content: "The reason is in the list, whole",
            trigger:
                '.o_list_view .o_data_row:has(td[name="complete_name"]:contains("Overdue Garage")) td[name="retention_reason"]:contains("100")',
        },
    ],
});
