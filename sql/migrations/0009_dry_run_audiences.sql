-- Dry runs (retarget run --dry-run) store the membership they evaluated in audience_members, so analysts and
-- `preview` can inspect it, without touching the history, the snapshots or any destination. Each audience whose
-- audience_members rows come from a dry run is listed here until the next real run replaces them. The real
-- membership is always the open rows of audience_membership_history (exited_at IS NULL).
CREATE TABLE audience_dry_runs (
  audience VARCHAR PRIMARY KEY,
  run_id   VARCHAR NOT NULL,
  as_of    TIMESTAMP NOT NULL
);
