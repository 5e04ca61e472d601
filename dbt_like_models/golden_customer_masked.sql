/*
materialized: view
description: >
  golden_customer for analysts without PII clearance: e-mail keeps the first
  character of the mailbox and the domain, phone the country code and the last
  two digits, street address and contact name their first characters, and a
  person's name its first character (a company's name is not personal data).
  The rules are those of lineage/masking.py.
columns:
  unified_id: {tests: [unique, not_null]}
*/
SELECT
    unified_id,
    customer_type,
    CASE WHEN customer_type = 'person' THEN left(name, 1) || '•••' ELSE name END AS name,
    left(contact_name, 1) || '•••' AS contact_name,
    CASE
        WHEN strpos(email, '@') > 0
            THEN left(email, 1) || '•••@' || substr(email, strpos(email, '@') + 1)
        ELSE left(email, 2) || '•••'
    END AS email,
    CASE
        WHEN length(phone) <= 2 THEN '•••'
        WHEN phone LIKE '+%' THEN left(phone, 3) || '•••' || right(phone, 2)
        ELSE '•••' || right(phone, 2)
    END AS phone,
    left(address, 2) || '•••' AS address,
    postcode,
    city,
    region,
    country,
    industry,
    size_band,
    tier,
    source_count,
    record_count,
    trust_score,
    first_seen_at,
    updated_at
FROM golden_customer
