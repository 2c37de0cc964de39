// The way into the addon's screens the tours share: the apps menu, Sales,
// Retention, then the menu item ``menuXmlid`` (described by ``content``).
export function openRetentionMenu(menuXmlid, content) {
    return [
        {
            content: "Open the apps menu",
            trigger: ".o_navbar_apps_menu button",
            run: "click",
        },
        {
            content: "Open the Sales app",
            trigger: '.o_app[data-menu-xmlid="sale.sale_menu_root"]',
            run: "click",
        },
        {
            content: "Open the Retention menu",
            trigger:
                '[data-menu-xmlid="customer_retention.menu_customer_retention_root"]',
            run: "click",
        },
        {
            content,
            trigger: `[data-menu-xmlid="${menuXmlid}"]`,
            run: "click",
        },
    ];
}
