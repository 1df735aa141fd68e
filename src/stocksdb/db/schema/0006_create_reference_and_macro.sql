-- Reference data (trading sessions) and macro series from FRED.
CREATE TABLE stocks_research.trading_sessions (
    exchange      text NOT NULL,
    session_date  date NOT NULL,
    open_at       timestamptz NOT NULL,
    close_at      timestamptz NOT NULL,
    early_close   boolean NOT NULL DEFAULT false,
    PRIMARY KEY (exchange, session_date),
    CHECK (close_at > open_at)
);

CREATE TABLE stocks_research.macro_series (
    series_id    text PRIMARY KEY,
    title        text,
    frequency    text,
    units        text,
    source       text NOT NULL DEFAULT 'fred',
    updated_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE stocks_research.macro_observations (
    series_id      text NOT NULL REFERENCES stocks_research.macro_series (series_id),
    obs_date       date NOT NULL,
    realtime_start date NOT NULL,
    value          double precision,          -- NULL: the vendor reported it missing ('.')
    PRIMARY KEY (series_id, obs_date, realtime_start)
);

CREATE TABLE stocks_research.macro_events (
    release_id    integer NOT NULL,
    release_name  text,
    release_date  date NOT NULL,
    PRIMARY KEY (release_id, release_date)
);
