/*
materialized: table
description: >
  A 0-100 health score per unified customer with its four components, each
  0-100: recency of activity (35 %), ticket load and resolution (20 %),
  purchase trend (25 %) and completeness of the golden record (20 %).
columns:
  unified_id:
    tests: [unique, not_null, {relationships: {to: golden_customer, field: unified_id}}]
  recency_score: {description: "100 for activity on as_of, falling to 0 after 365 days (0 when never active)."}
  ticket_score: {description: "Share of tickets closed, minus 10 per open ticket; 100 without tickets."}
  trend_score: {description: "50 when revenue is flat year on year, 100 when it doubled or is new, 0 when it stopped; 50 without purchases."}
  completeness_score: {description: "Share of the golden fields that apply to the customer type that are filled."}
  health_score: {tests: [not_null]}
  health_band:
    description: healthy (>= 70), watch (40-69) or at_risk (< 40).
    tests: [not_null, {accepted_values: {values: [healthy, watch, at_risk]}}]
*/
WITH scores AS (
    SELECT
        c.unified_id,
        CASE
            WHEN c.last_contact_at IS NULL THEN 0
            ELSE greatest(0, 100 - 100 * date_diff('day', c.last_contact_at, c.as_of) / 365)
        END AS recency_score,
        CASE
            WHEN c.tickets_open + c.tickets_closed = 0 THEN 100
            ELSE greatest(
                0,
                100 * c.tickets_closed / (c.tickets_open + c.tickets_closed) - 10 * c.tickets_open
            )
        END AS ticket_score,
        CASE
            WHEN c.revenue_last_365d = 0 AND c.revenue_prior_365d = 0 THEN 50
            WHEN c.revenue_prior_365d = 0 THEN 100
            ELSE least(100, 50 * c.revenue_last_365d / c.revenue_prior_365d)
        END AS trend_score,
        CASE
            WHEN g.customer_type = 'company' THEN 100 * (
                CASE WHEN g.name IS NULL THEN 0 ELSE 1 END
                + CASE WHEN g.email IS NULL THEN 0 ELSE 1 END
                + CASE WHEN g.phone IS NULL THEN 0 ELSE 1 END
                + CASE WHEN g.address IS NULL THEN 0 ELSE 1 END
                + CASE WHEN g.postcode IS NULL THEN 0 ELSE 1 END
                + CASE WHEN g.city IS NULL THEN 0 ELSE 1 END
                + CASE WHEN g.region IS NULL THEN 0 ELSE 1 END
                + CASE WHEN g.country IS NULL THEN 0 ELSE 1 END
                + CASE WHEN g.contact_name IS NULL THEN 0 ELSE 1 END
                + CASE WHEN g.industry IS NULL THEN 0 ELSE 1 END
                + CASE WHEN g.size_band IS NULL THEN 0 ELSE 1 END
                + CASE WHEN g.tax_id IS NULL THEN 0 ELSE 1 END
            ) / 12
            ELSE 100 * (
                CASE WHEN g.name IS NULL THEN 0 ELSE 1 END
                + CASE WHEN g.email IS NULL THEN 0 ELSE 1 END
                + CASE WHEN g.phone IS NULL THEN 0 ELSE 1 END
                + CASE WHEN g.address IS NULL THEN 0 ELSE 1 END
                + CASE WHEN g.postcode IS NULL THEN 0 ELSE 1 END
                + CASE WHEN g.city IS NULL THEN 0 ELSE 1 END
                + CASE WHEN g.region IS NULL THEN 0 ELSE 1 END
                + CASE WHEN g.country IS NULL THEN 0 ELSE 1 END
            ) / 8
        END AS completeness_score
    FROM customer_360 AS c
    JOIN golden_customer AS g ON g.unified_id = c.unified_id
),
scored AS (
    SELECT
        unified_id,
        round(recency_score, 1) AS recency_score,
        round(ticket_score, 1) AS ticket_score,
        round(trend_score, 1) AS trend_score,
        round(completeness_score, 1) AS completeness_score,
        round(
            0.35 * recency_score + 0.20 * ticket_score + 0.25 * trend_score
            + 0.20 * completeness_score
        ) AS health_score
    FROM scores
)
SELECT
    unified_id,
    recency_score,
    ticket_score,
    trend_score,
    completeness_score,
    CAST(health_score AS INTEGER) AS health_score,
    CASE
        WHEN health_score >= 70 THEN 'healthy'
        WHEN health_score >= 40 THEN 'watch'
        ELSE 'at_risk'
    END AS health_band
FROM scored
ORDER BY unified_id
