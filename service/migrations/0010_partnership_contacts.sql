-- Contacts are fields, not free text (issue 10). The pairing import used to keep both contact
-- cells inside `progress` as 【园区(企业)联系人】… and 【包保负责人】… sections, so anyone who could
-- read a partnership read the phones. Each party's contact now has its own column (a_contact is
-- the contact of party a, b_contact of party b), shown only to those the access policy allows.
ALTER TABLE partnerships
    ADD COLUMN a_contact text,
    ADD COLUMN b_contact text;

-- Move the sections already stored. The counterpart of a pairing-table row is the park or
-- enterprise; the unit (包保负责人) is the bureau or school.
WITH found AS (
    SELECT id, a_type, b_type,
           nullif(btrim(substring(progress from '【园区\(企业\)联系人】([^【]*)'), E' \n\r\t'), '') AS counterpart,
           nullif(btrim(substring(progress from '【包保负责人】([^【]*)'), E' \n\r\t'), '') AS unit
    FROM partnerships
    WHERE progress LIKE '%【园区(企业)联系人】%' OR progress LIKE '%【包保负责人】%'
)
UPDATE partnerships p SET
    a_contact = coalesce(p.a_contact,
        CASE WHEN f.a_type IN ('park', 'enterprise') THEN f.counterpart ELSE f.unit END),
    b_contact = coalesce(p.b_contact,
        CASE WHEN f.a_type IN ('park', 'enterprise') THEN f.unit ELSE f.counterpart END),
    progress = btrim(regexp_replace(p.progress, '\n?【(园区\(企业\)联系人|包保负责人)】[^【]*', '', 'g'),
                     E' \n\r\t')
FROM found f WHERE f.id = p.id;
