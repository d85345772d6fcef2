-- A data version for the pairs waiting for review (issue 11, serving speed): every
-- recommendation request reads them for its pending-pair guard. With this version (read in
-- the same round trip as the other data versions) the engine keeps the pending pairs per
-- version instead of querying recommendations and reviews on every request.
-- Bumped by whatever can change recommendation_repository.pending_pairs(): a review written, a
-- recommendation inserted already submitted, a submitted (or now submitted) row changed or
-- deleted, either table truncated. Unsubmitted rows (every stored run's items) do not bump it.
INSERT INTO data_versions (entity_type, version, updated_at) VALUES ('pending_review', 1, now())
ON CONFLICT (entity_type) DO NOTHING;

CREATE TRIGGER reviews_pending_version AFTER INSERT OR TRUNCATE ON reviews
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version('pending_review');
CREATE TRIGGER recommendations_pending_version_insert AFTER INSERT ON recommendations
    FOR EACH ROW WHEN (NEW.submitted_at IS NOT NULL)
    EXECUTE FUNCTION bump_data_version('pending_review');
CREATE TRIGGER recommendations_pending_version_update AFTER UPDATE ON recommendations
    FOR EACH ROW WHEN ((OLD.submitted_at IS NOT NULL OR NEW.submitted_at IS NOT NULL)
                       AND OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION bump_data_version('pending_review');
CREATE TRIGGER recommendations_pending_version_delete AFTER DELETE ON recommendations
    FOR EACH ROW WHEN (OLD.submitted_at IS NOT NULL)
    EXECUTE FUNCTION bump_data_version('pending_review');
CREATE TRIGGER recommendations_pending_version_truncate AFTER TRUNCATE ON recommendations
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version('pending_review');
