-- Review workflow: the canonical partnership pair of a submitted recommendation, and views that
-- derive the review state from the append-only decisions (reviews).

-- Filled when an item is submitted to review: the two parties a partnership would join, in the
-- canonical order of the partnerships table (a need resolves to its enterprise).
ALTER TABLE recommendations
    ADD COLUMN pair_a_type text,
    ADD COLUMN pair_a_id   int,
    ADD COLUMN pair_b_type text,
    ADD COLUMN pair_b_id   int,
    ADD CONSTRAINT recommendations_pair_canonical
        CHECK (pair_a_type IS NULL OR (pair_a_type, pair_a_id) < (pair_b_type, pair_b_id));
CREATE INDEX recommendations_submitted_pair_idx
    ON recommendations (pair_a_type, pair_a_id, pair_b_type, pair_b_id)
    WHERE submitted_at IS NOT NULL;

-- Current state of every recommendation, derived from its latest decision:
--   draft     never submitted
--   pending   submitted, no decision since the (latest) submission
--   returned  the latest decision is 'return' and it was not resubmitted after it
--   approved / rejected   final
-- Decisions and submissions take their time with clock_timestamp() under a row lock on the
-- recommendation, so comparing the two times is safe.
CREATE VIEW review_state AS
SELECT r.id AS recommendation_id,
       lr.id AS last_review_id,
       lr.decision AS last_decision,
       lr.created_at AS decided_at,
       CASE
           WHEN lr.decision = 'approve' THEN 'approved'
           WHEN lr.decision = 'reject' THEN 'rejected'
           WHEN r.submitted_at IS NULL THEN 'draft'
           WHEN lr.decision = 'return' AND r.submitted_at <= lr.created_at THEN 'returned'
           ELSE 'pending'
       END AS state
FROM recommendations r
LEFT JOIN LATERAL (
    SELECT v.id, v.decision, v.created_at FROM reviews v
    WHERE v.recommendation_id = r.id ORDER BY v.id DESC LIMIT 1
) lr ON true;

-- Pairs currently under review: recommendation guards exclude them ("no duplicate pairing").
CREATE VIEW review_pending_pairs AS
SELECT r.id AS recommendation_id, r.pair_a_type AS a_type, r.pair_a_id AS a_id,
       r.pair_b_type AS b_type, r.pair_b_id AS b_id, r.region_id, r.submitted_at
FROM recommendations r
WHERE r.submitted_at IS NOT NULL
  AND NOT EXISTS (
      SELECT 1 FROM reviews v
      WHERE v.recommendation_id = r.id
        AND (v.decision IN ('approve', 'reject') OR v.created_at >= r.submitted_at)
  );
