/*
materialized: table
description: >
  One row per customer source: rows read, quarantined, loaded; how many of its
  records matched another record (match rate) or another source; how many
  golden field values it won in survivorship; facts naming records that did
  not load (orphans).
columns:
  source_system: {tests: [unique, not_null]}
  rows_in: {description: "Rows read: records plus quarantined rows.", tests: [not_null]}
  match_rate: {description: Share of its records merged with at least one other record.}
  cross_source_rate: {description: Share of its records whose customer another source knows too.}
  fields_won: {description: Golden field values that came from this source.}
  fields_won_share: {description: "fields_won over all golden field values."}
  orphan_facts: {description: "Invoices, orders or tickets naming one of its records that is not in customer_xref."}
*/
WITH systems AS (
    SELECT source_system FROM customer_xref
    UNION
    SELECT source_system FROM quarantine
),
loaded AS (
    SELECT
        x.source_system,
        count(*) AS records,
        count(CASE WHEN g.record_count > 1 THEN 1 END) AS matched_records,
        count(CASE WHEN g.source_count > 1 THEN 1 END) AS cross_source_records
    FROM customer_xref AS x
    JOIN golden_customer AS g ON g.unified_id = x.unified_id
    GROUP BY x.source_system
),
rejected AS (
    SELECT source_system, count(*) AS quarantined FROM quarantine GROUP BY source_system
),
won AS (
    SELECT source_system, count(*) AS fields_won FROM field_lineage GROUP BY source_system
),
facts AS (
    SELECT source_system, source_record_id FROM fact_invoices
    UNION ALL
    SELECT source_system, source_record_id FROM fact_orders
    UNION ALL
    SELECT source_system, source_record_id FROM fact_tickets
),
orphans AS (
    SELECT f.source_system, count(*) AS orphan_facts
    FROM facts AS f
    LEFT JOIN customer_xref AS x
        ON x.source_system = f.source_system AND x.source_record_id = f.source_record_id
    WHERE x.unified_id IS NULL
    GROUP BY f.source_system
),
all_won AS (
    SELECT count(*) AS total FROM field_lineage
)
SELECT
    s.source_system,
    coalesce(l.records, 0) + coalesce(r.quarantined, 0) AS rows_in,
    coalesce(r.quarantined, 0) AS quarantined,
    coalesce(l.records, 0) AS records,
    round(coalesce(l.matched_records, 0) / greatest(coalesce(l.records, 0), 1), 4) AS match_rate,
    round(coalesce(l.cross_source_records, 0) / greatest(coalesce(l.records, 0), 1), 4)
        AS cross_source_rate,
    coalesce(w.fields_won, 0) AS fields_won,
    round(coalesce(w.fields_won, 0) / greatest(a.total, 1), 4) AS fields_won_share,
    coalesce(o.orphan_facts, 0) AS orphan_facts
FROM systems AS s
LEFT JOIN loaded AS l ON l.source_system = s.source_system
LEFT JOIN rejected AS r ON r.source_system = s.source_system
LEFT JOIN won AS w ON w.source_system = s.source_system
LEFT JOIN orphans AS o ON o.source_system = s.source_system
CROSS JOIN all_won AS a
ORDER BY s.source_system
