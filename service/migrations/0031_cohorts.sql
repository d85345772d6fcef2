-- Cohort mentor assignment (seed 003, 英才计划): mentors with seats, students with ranked
-- choices, interviews, assignments and the meetings of each pair (issue 13).

CREATE TABLE cohorts (
    id          serial PRIMARY KEY,
    region_id   int NOT NULL REFERENCES regions(id),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    year        int NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    created_by  int REFERENCES users(id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (region_id, name, year)
);

CREATE TABLE cohort_mentors (
    cohort_id   int NOT NULL REFERENCES cohorts(id) ON DELETE CASCADE,
    mentor_id   int NOT NULL REFERENCES mentors(id) ON DELETE CASCADE,
    subject     text NOT NULL,
    seats       int NOT NULL CHECK (seats BETWEEN 0 AND 50),
    PRIMARY KEY (cohort_id, mentor_id)
);

CREATE TABLE cohort_students (
    id          serial PRIMARY KEY,
    cohort_id   int NOT NULL REFERENCES cohorts(id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    subject     text NOT NULL,
    interest    text NOT NULL DEFAULT '',
    choices     int[] NOT NULL DEFAULT '{}',     -- mentor ids, most wanted first
    UNIQUE (cohort_id, name)
);

CREATE TABLE cohort_interviews (
    cohort_id   int NOT NULL REFERENCES cohorts(id) ON DELETE CASCADE,
    student_id  int NOT NULL REFERENCES cohort_students(id) ON DELETE CASCADE,
    mentor_id   int NOT NULL REFERENCES mentors(id) ON DELETE CASCADE,
    passed      boolean NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (student_id, mentor_id)
);

CREATE TABLE cohort_assignments (
    id          serial PRIMARY KEY,
    cohort_id   int NOT NULL REFERENCES cohorts(id) ON DELETE CASCADE,
    student_id  int NOT NULL UNIQUE REFERENCES cohort_students(id) ON DELETE CASCADE,
    mentor_id   int NOT NULL REFERENCES mentors(id) ON DELETE CASCADE,
    fit         double precision NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cohort_meetings (
    id          serial PRIMARY KEY,
    assignment_id int NOT NULL REFERENCES cohort_assignments(id) ON DELETE CASCADE,
    met_on      date NOT NULL,
    note        text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cohort_meetings_assignment_idx ON cohort_meetings (assignment_id);
