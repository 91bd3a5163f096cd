-- Google Ads destination (Data Manager API): every accepted ingest/remove request, and what Google's diagnostics
-- (RetrieveRequestStatus, asked 30 minutes or more after the request) said about it. Counts per reason only:
-- Google never reports which records failed.
CREATE TABLE google_ads_requests (
  request_id            VARCHAR PRIMARY KEY,
  run_id                VARCHAR NOT NULL,
  audience              VARCHAR NOT NULL,
  user_list_id          VARCHAR NOT NULL,
  action                VARCHAR NOT NULL,   -- 'add' | 'remove'
  members               INTEGER NOT NULL,
  sent_at               TIMESTAMP NOT NULL,
  checked_at            TIMESTAMP,          -- last RetrieveRequestStatus
  request_status        VARCHAR,            -- SUCCESS | PROCESSING | PARTIAL_SUCCESS | FAILED | REQUEST_STATUS_UNKNOWN
  record_count          BIGINT,
  user_identifier_count BIGINT,
  error_counts          JSON,               -- {"PROCESSING_ERROR_REASON_NO_CONSENT": 2, ...}
  match_rate_range      VARCHAR             -- e.g. MATCH_RATE_RANGE_51_TO_60 (adds only)
);
