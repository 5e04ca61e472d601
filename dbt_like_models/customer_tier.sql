/*
materialized: table
description: >
  One canonical S/A/B/C tier per unified customer from revenue and activity,
  replacing the systems' own codes (CRM A/B/C, ERP VIP/PRO/STD). The codes each
  source holds are kept beside it, as is the tier survivorship chose from them.
columns:
  unified_id:
    tests: [unique, not_null, {relationships: {to: customer_360, field: unified_id}}]
  tier:
    description: S >= 250k CNY revenue in the last 365 days, A >= 40k, B >= 3k or any activity in the last 365 days, else C.
    tests: [not_null, {accepted_values: {values: [S, A, B, C]}}]
  tier_basis: {description: The rule that decided the tier.}
  golden_tier:
    description: The tier survivorship chose from the source codes (may be null).
    tests: [{accepted_values: {values: [S, A, B, C]}}]
  source_tier_codes: {description: "Each source's own code, e.g. 'crm:A, erp:VIP'."}
  tier_changed: {description: Whether the computed tier differs from the golden tier.}
*/
WITH source_codes AS (
    SELECT
        c.unified_id,
        string_agg(
            DISTINCT c.source_system || ':' || coalesce(v.source_code, c.value),
            ', ' ORDER BY c.source_system || ':' || coalesce(v.source_code, c.value)
        ) AS codes
    FROM field_candidates AS c
    LEFT JOIN source_value_maps AS v
        ON v.source_system = c.source_system
        AND v.field = c.field
        AND v.canonical_value = c.value
    WHERE c.field = 'tier'
    GROUP BY c.unified_id
),
activity AS (
    SELECT
        unified_id,
        revenue_last_365d,
        CASE
            WHEN last_contact_at > as_of - INTERVAL 365 DAY THEN TRUE ELSE FALSE
        END AS active_last_365d
    FROM customer_360
),
tiered AS (
    SELECT
        a.unified_id,
        a.revenue_last_365d,
        CASE
            WHEN a.revenue_last_365d >= 250000 THEN 'S'
            WHEN a.revenue_last_365d >= 40000 THEN 'A'
            WHEN a.revenue_last_365d >= 3000 OR a.active_last_365d THEN 'B'
            ELSE 'C'
        END AS tier,
        CASE
            WHEN a.revenue_last_365d >= 250000 THEN 'revenue_last_365d >= 250000'
            WHEN a.revenue_last_365d >= 40000 THEN 'revenue_last_365d >= 40000'
            WHEN a.revenue_last_365d >= 3000 THEN 'revenue_last_365d >= 3000'
            WHEN a.active_last_365d THEN 'active in the last 365 days'
            ELSE 'no activity in the last 365 days'
        END AS tier_basis
    FROM activity AS a
)
SELECT
    t.unified_id,
    t.tier,
    t.tier_basis,
    t.revenue_last_365d,
    g.tier AS golden_tier,
    s.codes AS source_tier_codes,
    CASE WHEN g.tier IS NULL THEN NULL ELSE t.tier <> g.tier END AS tier_changed
FROM tiered AS t
JOIN golden_customer AS g ON g.unified_id = t.unified_id
LEFT JOIN source_codes AS s ON s.unified_id = t.unified_id
ORDER BY t.unified_id
