-- Point-in-time macro series and the FRED release calendar (issue 14). The tables of 0006 were
-- never filled; they gain what the macro_observations and macro_calendar jobs store.

-- macro_series: FRED's series metadata (GET /fred/series) when it was read; a series known only
-- from its observations keeps NULL metadata. vendor_updated_at is FRED's `last_updated`.
ALTER TABLE stocks_research.macro_series
    ADD COLUMN seasonal_adjustment text,
    ADD COLUMN notes               text,
    ADD COLUMN vendor_updated_at   timestamptz,
    ADD COLUMN run_id              bigint REFERENCES ingestion.job_runs (run_id) ON DELETE SET NULL;

-- macro_observations: one row per observation date and vintage, as FRED's ALFRED answer gives
-- it: the value was the published one from realtime_start to realtime_end, both inclusive
-- (9999-12-31: still current). FRED's "." is value NULL with missing = true, never 0.
ALTER TABLE stocks_research.macro_observations
    ADD COLUMN realtime_end date    NOT NULL DEFAULT '9999-12-31',
    ADD COLUMN missing      boolean NOT NULL DEFAULT false,
    ADD COLUMN run_id       bigint REFERENCES ingestion.job_runs (run_id) ON DELETE SET NULL;
UPDATE stocks_research.macro_observations SET missing = (value IS NULL);
ALTER TABLE stocks_research.macro_observations
    ALTER COLUMN realtime_end DROP DEFAULT,
    ADD CONSTRAINT macro_observations_missing_is_null CHECK (missing = (value IS NULL)),
    ADD CONSTRAINT macro_observations_realtime_order CHECK (realtime_end >= realtime_start);

-- macro_events: one row per release and date of FRED's release calendar, with the importance
-- of the release and the instant it is expected (docs/macro.md: the release time when known,
-- else 08:30 New York for high-importance releases, midnight New York otherwise).
ALTER TABLE stocks_research.macro_events
    ADD COLUMN calendar   text    NOT NULL DEFAULT 'fred',
    ADD COLUMN currency   text    NOT NULL DEFAULT 'USD',
    ADD COLUMN importance text    NOT NULL DEFAULT 'low'
        CHECK (importance IN ('high', 'medium', 'low')),
    ADD COLUMN release_at timestamptz,
    ADD COLUMN time_known boolean NOT NULL DEFAULT false,
    ADD COLUMN run_id     bigint REFERENCES ingestion.job_runs (run_id) ON DELETE SET NULL;
UPDATE stocks_research.macro_events
   SET release_at = release_date::timestamp AT TIME ZONE 'America/New_York';
ALTER TABLE stocks_research.macro_events
    ALTER COLUMN release_at SET NOT NULL,
    ALTER COLUMN calendar DROP DEFAULT,
    ALTER COLUMN importance DROP DEFAULT;
CREATE INDEX macro_events_release_at_idx ON stocks_research.macro_events (release_at);
