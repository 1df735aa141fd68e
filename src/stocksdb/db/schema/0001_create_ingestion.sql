-- The audit trail: every job run, gate result, rejected row and source file.
CREATE SCHEMA IF NOT EXISTS stocks_research;
CREATE SCHEMA IF NOT EXISTS ingestion;

CREATE TABLE ingestion.job_runs (
    run_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job          text        NOT NULL,
    params       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    status       text        NOT NULL DEFAULT 'running'
                 CHECK (status IN ('running', 'succeeded', 'failed', 'partial', 'refused')),
    started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at  timestamptz,
    counts       jsonb       NOT NULL DEFAULT '{}'::jsonb,
    error        text,
    CHECK (finished_at IS NULL OR finished_at >= started_at)
);
CREATE INDEX job_runs_job_started_idx ON ingestion.job_runs (job, started_at DESC);

CREATE TABLE ingestion.job_steps (
    run_id       bigint      NOT NULL REFERENCES ingestion.job_runs (run_id) ON DELETE CASCADE,
    step         text        NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at  timestamptz,
    rows         bigint,
    PRIMARY KEY (run_id, step)
);

CREATE TABLE ingestion.gate_results (
    run_id        bigint  NOT NULL REFERENCES ingestion.job_runs (run_id) ON DELETE CASCADE,
    phase         text    NOT NULL CHECK (phase IN ('pre', 'post')),
    check_name    text    NOT NULL,
    reason_code   text    NOT NULL,
    status        text    NOT NULL CHECK (status IN ('pass', 'warn', 'fail')),
    failed_count  bigint  NOT NULL DEFAULT 0 CHECK (failed_count >= 0),
    examples      jsonb   NOT NULL DEFAULT '[]'::jsonb,
    observed      jsonb   NOT NULL DEFAULT '{}'::jsonb,
    checked_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (run_id, phase, check_name)
);

CREATE TABLE ingestion.rejected_rows (
    rejected_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id       bigint  NOT NULL REFERENCES ingestion.job_runs (run_id) ON DELETE CASCADE,
    job          text    NOT NULL,
    source       text    NOT NULL,
    source_key   text,
    trade_date   date,
    ticker       text,
    reason_code  text    NOT NULL,
    detail       text,
    raw          jsonb   NOT NULL DEFAULT '{}'::jsonb,
    rejected_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX rejected_rows_run_idx ON ingestion.rejected_rows (run_id);
CREATE INDEX rejected_rows_reason_idx ON ingestion.rejected_rows (reason_code, trade_date);

CREATE TABLE ingestion.source_files (
    source        text    NOT NULL,
    key           text    NOT NULL,
    size_bytes    bigint  NOT NULL CHECK (size_bytes >= 0),
    etag          text,
    sha256        text    CHECK (sha256 IS NULL OR sha256 ~ '^[0-9a-f]{64}$'),
    rows          bigint  CHECK (rows IS NULL OR rows >= 0),
    status        text    NOT NULL CHECK (status IN ('loaded', 'failed', 'skipped')),
    last_run_id   bigint  REFERENCES ingestion.job_runs (run_id) ON DELETE SET NULL,
    loaded_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (source, key)
);

CREATE TABLE ingestion.quality_findings (
    finding_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id       bigint  REFERENCES ingestion.job_runs (run_id) ON DELETE CASCADE,
    check_name   text    NOT NULL,
    reason_code  text    NOT NULL,
    severity     text    NOT NULL CHECK (severity IN ('info', 'warn', 'fail')),
    subject      jsonb   NOT NULL DEFAULT '{}'::jsonb,
    detail       text,
    found_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
