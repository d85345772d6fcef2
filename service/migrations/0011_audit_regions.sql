-- Audit entries carry the regions of the row they describe (issue 10), so bureaus and reviewers
-- read the trail of their own region only. A row with no known region is for province admins.

-- The region path of a party or catalogue row (a programme: its school's; a need: its
-- enterprise's; a mentor: its school's or enterprise's). NULL when unknown.
CREATE FUNCTION row_region_path(etype text, eid int) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT g.path FROM regions g WHERE g.id = (
        CASE etype
            WHEN 'school' THEN (SELECT region_id FROM schools WHERE id = eid)
            WHEN 'programme' THEN (SELECT s.region_id FROM programmes p
                                   JOIN schools s ON s.id = p.school_id WHERE p.id = eid)
            WHEN 'enterprise' THEN (SELECT region_id FROM enterprises WHERE id = eid)
            WHEN 'need' THEN (SELECT e.region_id FROM needs n
                              JOIN enterprises e ON e.id = n.enterprise_id WHERE n.id = eid)
            WHEN 'mentor' THEN (SELECT coalesce(s.region_id, e.region_id) FROM mentors m
                                LEFT JOIN schools s ON s.id = m.school_id
                                LEFT JOIN enterprises e ON e.id = m.enterprise_id
                                WHERE m.id = eid)
            WHEN 'practice_base' THEN (SELECT region_id FROM practice_bases WHERE id = eid)
            WHEN 'park' THEN (SELECT region_id FROM parks WHERE id = eid)
            WHEN 'bureau' THEN (SELECT region_id FROM bureaus WHERE id = eid)
            WHEN 'recommendation' THEN (SELECT region_id FROM recommendations WHERE id = eid)
            WHEN 'user' THEN (SELECT coalesce(u.region_id, s.region_id, e.region_id) FROM users u
                              LEFT JOIN schools s ON s.id = u.school_id
                              LEFT JOIN enterprises e ON e.id = u.enterprise_id
                              WHERE u.id = eid)
        END)
$$;

-- Every region an audited entity touches: a partnership touches both parties' regions.
CREATE FUNCTION entity_region_paths(etype text, eid int) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN eid IS NULL THEN '{}'::text[]
        WHEN etype = 'partnership' THEN (
            SELECT array_remove(ARRAY[row_region_path(p.a_type, p.a_id),
                                      row_region_path(p.b_type, p.b_id)], NULL)
            FROM partnerships p WHERE p.id = eid)
        ELSE array_remove(ARRAY[row_region_path(etype, eid)], NULL)
    END
$$;

ALTER TABLE audit_log ADD COLUMN region_paths text[] NOT NULL DEFAULT '{}';
CREATE INDEX audit_log_region_idx ON audit_log USING gin (region_paths);

-- Backfill what can still be resolved (the log is append-only: lift the guard for this once).
ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only;
UPDATE audit_log SET region_paths = coalesce(entity_region_paths(entity_type, entity_id), '{}');
ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only;
