-- xiaoqi core schema: the catalogue of regions, bureaus, parks, schools, programmes,
-- enterprises, needs, mentors, practice bases and the partnership graph.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- GB 32100-2015 unified social credit code (统一社会信用代码): 18 chars, last is a check char.
CREATE FUNCTION credit_code_valid(code text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    alphabet constant text := '0123456789ABCDEFGHJKLMNPQRTUWXY';
    weights constant int[] := ARRAY[1,3,9,27,19,26,16,17,20,29,25,13,8,24,10,30,28];
    total int := 0;
    pos int;
    expected int;
BEGIN
    IF code !~ '^[0-9A-HJ-NP-RTUW-Y]{2}[0-9]{6}[0-9A-HJ-NP-RTUW-Y]{10}$' THEN
        RETURN false;
    END IF;
    FOR i IN 1..17 LOOP
        pos := strpos(alphabet, substr(code, i, 1)) - 1;
        total := total + pos * weights[i];
    END LOOP;
    expected := (31 - total % 31) % 31;
    RETURN substr(alphabet, expected + 1, 1) = substr(code, 18, 1);
END $$;

CREATE TABLE regions (
    id          serial PRIMARY KEY,
    code        text NOT NULL UNIQUE CHECK (code ~ '^[0-9]{6}$'),   -- GB/T 2260 division code
    name        text NOT NULL,
    level       text NOT NULL CHECK (level IN ('province', 'city', 'county')),
    parent_id   int REFERENCES regions(id),
    path        text NOT NULL UNIQUE,        -- '410000.410100.410102': region scope is a prefix match
    lat         double precision CHECK (lat BETWEEN -90 AND 90),
    lon         double precision CHECK (lon BETWEEN -180 AND 180),
    CHECK ((level = 'province') = (parent_id IS NULL))
);
CREATE INDEX regions_path_idx ON regions (path text_pattern_ops);

CREATE TABLE bureaus (
    id          serial PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    region_id   int NOT NULL REFERENCES regions(id),
    contact_name  text,
    contact_phone text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE parks (
    id          serial PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    region_id   int NOT NULL REFERENCES regions(id),
    leading_industries text[] NOT NULL DEFAULT '{}',   -- GB/T 4754 codes
    description text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE schools (
    id          serial PRIMARY KEY,
    code        text NOT NULL UNIQUE CHECK (code ~ '^[0-9A-Z]{4,12}$'),  -- MoE institution code
    name        text NOT NULL UNIQUE,
    kind        text NOT NULL CHECK (kind IN ('双一流', '本科', '职教本科', '高职专科', '中职', '中学')),
    region_id   int NOT NULL REFERENCES regions(id),
    tags        text[] NOT NULL DEFAULT '{}',
    description text NOT NULL DEFAULT '',
    contact_name  text,
    contact_phone text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX schools_region_idx ON schools (region_id);

CREATE TABLE programmes (
    id          serial PRIMARY KEY,
    school_id   int NOT NULL REFERENCES schools(id) ON DELETE CASCADE,
    major_code  text NOT NULL CHECK (major_code ~ '^[0-9]{6,7}[TK]{0,2}$'),
    name        text NOT NULL,
    level       text NOT NULL CHECK (level IN ('本科', '职教本科', '高职专科', '中职')),
    description text NOT NULL DEFAULT '',
    industries  text[] NOT NULL DEFAULT '{}',          -- GB/T 4754 codes it serves
    capacity    int NOT NULL DEFAULT 3 CHECK (capacity >= 0),  -- new partners it can take
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (school_id, major_code)
);

CREATE TABLE enterprises (
    id          serial PRIMARY KEY,
    credit_code text NOT NULL UNIQUE CHECK (credit_code_valid(credit_code)),
    name        text NOT NULL,
    industry_codes text[] NOT NULL DEFAULT '{}',       -- GB/T 4754 codes
    region_id   int NOT NULL REFERENCES regions(id),
    park_id     int REFERENCES parks(id) ON DELETE SET NULL,
    size        text NOT NULL DEFAULT '中型' CHECK (size IN ('大型', '中型', '小型', '微型')),
    group_name  text,                                  -- 集团 / parent company name
    description text NOT NULL DEFAULT '',
    contact_name  text,
    contact_phone text,
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX enterprises_region_idx ON enterprises (region_id);
CREATE INDEX enterprises_park_idx ON enterprises (park_id);
CREATE INDEX enterprises_industry_idx ON enterprises USING gin (industry_codes);
CREATE INDEX enterprises_name_trgm_idx ON enterprises USING gin (name gin_trgm_ops);

CREATE TABLE needs (
    id          serial PRIMARY KEY,
    enterprise_id int NOT NULL REFERENCES enterprises(id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('talent', 'technology', 'training', 'practice_base', 'mentor')),
    title       text NOT NULL,
    description text NOT NULL DEFAULT '',
    headcount   int CHECK (headcount IS NULL OR headcount >= 0),
    deadline    date,
    status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'matched', 'closed')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (enterprise_id, title)
);

CREATE TABLE mentors (
    id          serial PRIMARY KEY,
    name        text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('academic', 'research', 'industry_professor')),
    school_id   int REFERENCES schools(id) ON DELETE CASCADE,
    enterprise_id int REFERENCES enterprises(id) ON DELETE CASCADE,
    title       text NOT NULL DEFAULT '',                -- 职称
    fields      text[] NOT NULL DEFAULT '{}',
    description text NOT NULL DEFAULT '',
    capacity    int NOT NULL DEFAULT 3 CHECK (capacity >= 0),   -- mentees / partners it can take
    contact_email text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (num_nonnulls(school_id, enterprise_id) = 1),
    CHECK (kind <> 'industry_professor' OR enterprise_id IS NOT NULL)
);
CREATE UNIQUE INDEX mentors_natural_key ON mentors (name, coalesce(school_id, 0), coalesce(enterprise_id, 0));

CREATE TABLE practice_bases (
    id          serial PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    host_enterprise_id int REFERENCES enterprises(id) ON DELETE CASCADE,
    host_school_id int REFERENCES schools(id) ON DELETE CASCADE,
    region_id   int NOT NULL REFERENCES regions(id),
    fields      text[] NOT NULL DEFAULT '{}',
    description text NOT NULL DEFAULT '',
    slots_per_term int NOT NULL DEFAULT 20 CHECK (slots_per_term >= 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (num_nonnulls(host_enterprise_id, host_school_id) = 1)
);

-- Partnerships are typed edges between any two parties. Endpoints are stored in a canonical
-- order (a < b) so that "A with B" and "B with A" are the same row for the uniqueness rule.
CREATE TABLE partnerships (
    id          serial PRIMARY KEY,
    a_type      text NOT NULL CHECK (a_type IN ('bureau', 'park', 'school', 'programme', 'enterprise', 'mentor', 'practice_base')),
    a_id        int NOT NULL,
    b_type      text NOT NULL CHECK (b_type IN ('bureau', 'park', 'school', 'programme', 'enterprise', 'mentor', 'practice_base')),
    b_id        int NOT NULL,
    kind        text NOT NULL DEFAULT '结对包联',   -- 结对包联 / 共建专业 / 实践基地 / 导师 ...
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'ended')),
    since       date NOT NULL DEFAULT current_date,
    source      text NOT NULL DEFAULT 'manual',     -- import file, review decision, manual
    progress    text NOT NULL DEFAULT '',           -- 工作进展
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((a_type, a_id) < (b_type, b_id))
);
-- The database rule: at most one active partnership between the same two parties.
CREATE UNIQUE INDEX partnerships_one_active_pair ON partnerships (a_type, a_id, b_type, b_id)
    WHERE status = 'active';
CREATE INDEX partnerships_b_idx ON partnerships (b_type, b_id);

-- Polymorphic endpoints cannot carry plain foreign keys; this trigger checks they exist.
CREATE FUNCTION party_exists(ptype text, pid int) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
DECLARE found boolean;
BEGIN
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE id = $1)',
        CASE ptype WHEN 'bureau' THEN 'bureaus' WHEN 'park' THEN 'parks'
                   WHEN 'school' THEN 'schools' WHEN 'programme' THEN 'programmes'
                   WHEN 'enterprise' THEN 'enterprises' WHEN 'mentor' THEN 'mentors'
                   WHEN 'practice_base' THEN 'practice_bases' END)
    INTO found USING pid;
    RETURN found;
END $$;

CREATE FUNCTION partnerships_check_parties() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT party_exists(NEW.a_type, NEW.a_id) THEN
        RAISE EXCEPTION 'partnership party %:% does not exist', NEW.a_type, NEW.a_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF NOT party_exists(NEW.b_type, NEW.b_id) THEN
        RAISE EXCEPTION 'partnership party %:% does not exist', NEW.b_type, NEW.b_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER partnerships_parties BEFORE INSERT OR UPDATE OF a_type, a_id, b_type, b_id
    ON partnerships FOR EACH ROW EXECUTE FUNCTION partnerships_check_parties();

-- Accounts (the review workflow needs a reviewer; every write names its actor).
CREATE TABLE users (
    id          serial PRIMARY KEY,
    username    text NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9_.@-]{3,64}$'),
    display_name text NOT NULL DEFAULT '',
    password_hash text NOT NULL,
    role        text NOT NULL CHECK (role IN ('province_admin', 'reviewer', 'bureau', 'school', 'enterprise')),
    region_id   int REFERENCES regions(id),
    school_id   int REFERENCES schools(id) ON DELETE SET NULL,
    enterprise_id int REFERENCES enterprises(id) ON DELETE SET NULL,
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (role NOT IN ('bureau', 'reviewer') OR region_id IS NOT NULL)
);

CREATE TABLE api_tokens (
    id          serial PRIMARY KEY,
    user_id     int NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash  text NOT NULL UNIQUE,     -- sha256 of the token; the token itself is shown once
    name        text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

CREATE TABLE sessions (
    id          text PRIMARY KEY,          -- sha256 of the cookie value
    user_id     int NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);

-- Every recommendation request is stored with the versions that produced it.
CREATE TABLE recommendation_runs (
    id          serial PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('partner_enterprises', 'programmes', 'mentors', 'practice_bases')),
    requester_id int REFERENCES users(id),
    request     jsonb NOT NULL,
    versions    jsonb NOT NULL DEFAULT '{}',   -- encoder, index manifests, ranker
    timings_ms  jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE recommendations (
    id          serial PRIMARY KEY,
    run_id      int NOT NULL REFERENCES recommendation_runs(id) ON DELETE CASCADE,
    rank        int NOT NULL CHECK (rank >= 1),
    subject_type text NOT NULL,   -- who asked for partners (school, programme, park, need, text)
    subject_id  int,
    candidate_type text NOT NULL,
    candidate_id int NOT NULL,
    score       double precision NOT NULL,
    features    jsonb NOT NULL DEFAULT '{}',
    explanation jsonb NOT NULL DEFAULT '[]',
    region_id   int REFERENCES regions(id),   -- scope of the request (for reviewers' region)
    submitted_at timestamptz,                 -- set when sent to review
    submitted_by int REFERENCES users(id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (run_id, rank)
);
CREATE INDEX recommendations_submitted_idx ON recommendations (submitted_at) WHERE submitted_at IS NOT NULL;
CREATE INDEX recommendations_pair_idx ON recommendations (subject_type, subject_id, candidate_type, candidate_id);

-- Review decisions are appended, never updated; the current state is the latest decision.
CREATE TABLE reviews (
    id          serial PRIMARY KEY,
    recommendation_id int NOT NULL REFERENCES recommendations(id),
    decision    text NOT NULL CHECK (decision IN ('approve', 'reject', 'return')),
    reviewer_id int NOT NULL REFERENCES users(id),
    reason      text NOT NULL DEFAULT '',
    partnership_id int REFERENCES partnerships(id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (decision = 'approve' OR reason <> '' OR decision = 'reject')
);
CREATE INDEX reviews_recommendation_idx ON reviews (recommendation_id, created_at DESC);

CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    actor_id    int REFERENCES users(id),
    action      text NOT NULL,
    entity_type text NOT NULL,
    entity_id   int,
    before      jsonb,
    after       jsonb,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity_type, entity_id);

CREATE FUNCTION forbid_update_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER reviews_append_only BEFORE UPDATE OR DELETE ON reviews
    FOR EACH ROW EXECUTE FUNCTION forbid_update_delete();
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION forbid_update_delete();

-- Bumped on every catalogue write so indexes can tell they are stale.
CREATE TABLE data_versions (
    entity_type text PRIMARY KEY,
    version     bigint NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION bump_data_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO data_versions (entity_type, version, updated_at) VALUES (TG_ARGV[0], 1, now())
    ON CONFLICT (entity_type) DO UPDATE SET version = data_versions.version + 1, updated_at = now();
    RETURN NULL;
END $$;
CREATE TRIGGER schools_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON schools
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version('school');
CREATE TRIGGER programmes_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON programmes
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version('programme');
CREATE TRIGGER enterprises_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON enterprises
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version('enterprise');
CREATE TRIGGER needs_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON needs
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version('need');
CREATE TRIGGER mentors_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON mentors
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version('mentor');
CREATE TRIGGER practice_bases_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON practice_bases
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version('practice_base');
CREATE TRIGGER parks_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON parks
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version('park');
CREATE TRIGGER partnerships_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON partnerships
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version('partnership');
