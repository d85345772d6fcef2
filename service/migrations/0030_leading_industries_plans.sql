-- Leading industries (主导产业) per region, and pairing plans (issue 13).

-- Each region's (province, city) list: GB/T 4754 divisions (2 digits) or groups (3 digits).
-- The planner counts quotas per division (the guards' industry level, models/graph.py).
CREATE TABLE leading_industries (
    id          serial PRIMARY KEY,
    region_id   int NOT NULL REFERENCES regions(id) ON DELETE CASCADE,
    code        text NOT NULL CHECK (code ~ '^[0-9]{2,3}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    rank        int NOT NULL DEFAULT 0,            -- order in the region's list (0 = first)
    updated_by  int REFERENCES users(id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (region_id, code)
);

-- A plan is one solver run for a region; its pairs go to review together.
CREATE TABLE plans (
    id           serial PRIMARY KEY,
    region_id    int NOT NULL REFERENCES regions(id),
    requested_by int REFERENCES users(id) ON DELETE SET NULL,
    settings     jsonb NOT NULL,          -- the quotas and capacities of the request
    summary      jsonb NOT NULL,          -- status, objective, gap, runtime, coverage before/after
    submitted_at timestamptz,             -- sent to review as one batch
    submitted_by int REFERENCES users(id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE plan_items (
    id            serial PRIMARY KEY,
    plan_id       int NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
    school_id     int NOT NULL REFERENCES schools(id) ON DELETE CASCADE,
    programme_id  int REFERENCES programmes(id) ON DELETE CASCADE,
    enterprise_id int NOT NULL REFERENCES enterprises(id) ON DELETE CASCADE,
    industry      text NOT NULL,          -- the leading industry (division) the pair serves
    fit           double precision NOT NULL,
    features      jsonb NOT NULL DEFAULT '{}',
    reasons       jsonb NOT NULL DEFAULT '[]',
    UNIQUE (plan_id, school_id, enterprise_id)
);
CREATE INDEX plan_items_plan_idx ON plan_items (plan_id);

-- Append-only decisions on a plan's items (the current state is the latest per item).
CREATE TABLE plan_decisions (
    id             serial PRIMARY KEY,
    plan_id        int NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
    item_id        int NOT NULL REFERENCES plan_items(id) ON DELETE CASCADE,
    decision       text NOT NULL CHECK (decision IN ('approved', 'rejected')),
    decided_by     int REFERENCES users(id) ON DELETE SET NULL,
    partnership_id int,
    note           text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX plan_decisions_item_idx ON plan_decisions (item_id);
