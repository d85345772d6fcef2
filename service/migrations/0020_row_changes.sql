-- Row change log (issue 11): which rows of the catalogue tables the recommendation engine reads
-- were inserted, updated or deleted, in commit-independent sequence order. The engine applies
-- them as deltas (fetching just those rows) instead of rebuilding a whole snapshot. Written by
-- statement-level triggers over transition tables: one set-based INSERT per statement, so a
-- 100,000-row import costs one extra INSERT ... SELECT, not 100,000 trigger calls.
-- entity_type names what the engine follows: a need's row is logged as its enterprise (the
-- enterprise profile carries its open needs); schools and parks are logged as themselves and
-- mapped to the programmes, mentors, bases and enterprises that show their names.
-- A TRUNCATE logs row_id = 0 ("everything"), which makes the engine rebuild that entity.
CREATE TABLE row_changes (
    seq         bigserial PRIMARY KEY,
    entity_type text        NOT NULL,
    row_id      bigint      NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION log_row_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO row_changes (entity_type, row_id) VALUES (TG_ARGV[0], 0);
    ELSIF TG_OP = 'INSERT' THEN
        EXECUTE format('INSERT INTO row_changes (entity_type, row_id)
                        SELECT DISTINCT %L, %I FROM new_rows WHERE %I IS NOT NULL',
                       TG_ARGV[0], TG_ARGV[1], TG_ARGV[1]);
    ELSIF TG_OP = 'DELETE' THEN
        EXECUTE format('INSERT INTO row_changes (entity_type, row_id)
                        SELECT DISTINCT %L, %I FROM old_rows WHERE %I IS NOT NULL',
                       TG_ARGV[0], TG_ARGV[1], TG_ARGV[1]);
    ELSE
        EXECUTE format('INSERT INTO row_changes (entity_type, row_id)
                        SELECT %L, id FROM (SELECT %I AS id FROM new_rows
                                            UNION SELECT %I FROM old_rows) u
                        WHERE id IS NOT NULL',
                       TG_ARGV[0], TG_ARGV[1], TG_ARGV[1]);
    END IF;
    RETURN NULL;
END $$;

DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM (VALUES
        ('enterprises', 'enterprise', 'id'),
        ('needs', 'enterprise', 'enterprise_id'),
        ('parks', 'park', 'id'),
        ('schools', 'school', 'id'),
        ('programmes', 'programme', 'id'),
        ('mentors', 'mentor', 'id'),
        ('practice_bases', 'practice_base', 'id')
    ) AS v(tab, entity, col) LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I REFERENCING NEW TABLE AS new_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION log_row_changes(%L, %L)',
                       t.tab || '_log_ins', t.tab, t.entity, t.col);
        EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %I
                        REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION log_row_changes(%L, %L)',
                       t.tab || '_log_upd', t.tab, t.entity, t.col);
        EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I REFERENCING OLD TABLE AS old_rows
                        FOR EACH STATEMENT EXECUTE FUNCTION log_row_changes(%L, %L)',
                       t.tab || '_log_del', t.tab, t.entity, t.col);
        EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %I
                        FOR EACH STATEMENT EXECUTE FUNCTION log_row_changes(%L, %L)',
                       t.tab || '_log_trunc', t.tab, t.entity, t.col);
    END LOOP;
END $$;
