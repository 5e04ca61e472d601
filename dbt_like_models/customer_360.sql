/*
materialized: table
description: >
  One row per unified customer: its activity across systems. ERP invoices,
  web-shop orders and helpdesk tickets name source records; customer_xref rolls
  them up to the unified customer. Amounts are in CNY. Windows count back from
  as_of, the latest event in the release, so the same inputs give the same row.
columns:
  unified_id:
    description: The unified customer (golden_customer.unified_id).
    tests: [unique, not_null, {relationships: {to: golden_customer, field: unified_id}}]
  customer_type:
    tests: [{accepted_values: {values: [company, person]}}]
  orders: {description: Completed web-shop orders.}
  invoices: {description: ERP invoices that were not voided.}
  revenue:
    description: Non-void invoice amounts plus completed order amounts, all time.
    tests: [not_null]
  revenue_last_365d: {description: Revenue in the 365 days up to as_of.}
  revenue_prior_365d: {description: Revenue in the 365 days before that.}
  open_invoice_amount: {description: Invoiced but not yet paid.}
  tickets_open: {tests: [not_null]}
  tickets_closed: {tests: [not_null]}
  last_contact_at: {description: "Latest invoice, order or ticket."}
  sources_present: {description: Source systems holding a record of the customer.}
*/
WITH customer_events AS (
    SELECT x.unified_id, i.occurred_at
    FROM fact_invoices AS i
    JOIN customer_xref AS x
        ON x.source_system = i.source_system AND x.source_record_id = i.source_record_id
    UNION ALL
    SELECT x.unified_id, o.occurred_at
    FROM fact_orders AS o
    JOIN customer_xref AS x
        ON x.source_system = o.source_system AND x.source_record_id = o.source_record_id
    UNION ALL
    SELECT x.unified_id, t.occurred_at
    FROM fact_tickets AS t
    JOIN customer_xref AS x
        ON x.source_system = t.source_system AND x.source_record_id = t.source_record_id
),
window_end AS (
    SELECT max(occurred_at) AS as_of FROM customer_events
),
contacts AS (
    SELECT unified_id, max(occurred_at) AS last_contact_at
    FROM customer_events
    GROUP BY unified_id
),
invoiced AS (
    SELECT
        x.unified_id,
        count(CASE WHEN i.status <> 'void' THEN 1 END) AS invoices,
        sum(CASE WHEN i.status <> 'void' THEN i.amount ELSE 0 END) AS amount,
        sum(CASE WHEN i.status = 'open' THEN i.amount ELSE 0 END) AS open_amount,
        sum(
            CASE WHEN i.status <> 'void' AND i.occurred_at > w.as_of - INTERVAL 365 DAY
            THEN i.amount ELSE 0 END
        ) AS amount_last_365d,
        sum(
            CASE WHEN i.status <> 'void'
                AND i.occurred_at <= w.as_of - INTERVAL 365 DAY
                AND i.occurred_at > w.as_of - INTERVAL 730 DAY
            THEN i.amount ELSE 0 END
        ) AS amount_prior_365d
    FROM fact_invoices AS i
    JOIN customer_xref AS x
        ON x.source_system = i.source_system AND x.source_record_id = i.source_record_id
    CROSS JOIN window_end AS w
    GROUP BY x.unified_id
),
ordered AS (
    SELECT
        x.unified_id,
        count(CASE WHEN o.status = 'completed' THEN 1 END) AS orders,
        sum(CASE WHEN o.status = 'completed' THEN o.amount ELSE 0 END) AS amount,
        sum(
            CASE WHEN o.status = 'completed' AND o.occurred_at > w.as_of - INTERVAL 365 DAY
            THEN o.amount ELSE 0 END
        ) AS amount_last_365d,
        sum(
            CASE WHEN o.status = 'completed'
                AND o.occurred_at <= w.as_of - INTERVAL 365 DAY
                AND o.occurred_at > w.as_of - INTERVAL 730 DAY
            THEN o.amount ELSE 0 END
        ) AS amount_prior_365d
    FROM fact_orders AS o
    JOIN customer_xref AS x
        ON x.source_system = o.source_system AND x.source_record_id = o.source_record_id
    CROSS JOIN window_end AS w
    GROUP BY x.unified_id
),
ticketed AS (
    SELECT
        x.unified_id,
        count(CASE WHEN t.status = 'open' THEN 1 END) AS tickets_open,
        count(CASE WHEN t.status = 'closed' THEN 1 END) AS tickets_closed
    FROM fact_tickets AS t
    JOIN customer_xref AS x
        ON x.source_system = t.source_system AND x.source_record_id = t.source_record_id
    GROUP BY x.unified_id
),
present AS (
    SELECT unified_id, string_agg(DISTINCT source_system, ',' ORDER BY source_system) AS systems
    FROM customer_xref
    GROUP BY unified_id
)
SELECT
    g.unified_id,
    g.customer_type,
    g.name,
    g.country,
    coalesce(o.orders, 0) AS orders,
    coalesce(i.invoices, 0) AS invoices,
    round(coalesce(i.amount, 0) + coalesce(o.amount, 0), 2) AS revenue,
    round(coalesce(i.amount_last_365d, 0) + coalesce(o.amount_last_365d, 0), 2)
        AS revenue_last_365d,
    round(coalesce(i.amount_prior_365d, 0) + coalesce(o.amount_prior_365d, 0), 2)
        AS revenue_prior_365d,
    round(coalesce(i.open_amount, 0), 2) AS open_invoice_amount,
    coalesce(t.tickets_open, 0) AS tickets_open,
    coalesce(t.tickets_closed, 0) AS tickets_closed,
    c.last_contact_at,
    p.systems AS sources_present,
    g.source_count,
    w.as_of
FROM golden_customer AS g
LEFT JOIN invoiced AS i ON i.unified_id = g.unified_id
LEFT JOIN ordered AS o ON o.unified_id = g.unified_id
LEFT JOIN ticketed AS t ON t.unified_id = g.unified_id
LEFT JOIN contacts AS c ON c.unified_id = g.unified_id
LEFT JOIN present AS p ON p.unified_id = g.unified_id
CROSS JOIN window_end AS w
ORDER BY g.unified_id
