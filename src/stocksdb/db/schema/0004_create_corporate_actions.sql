-- Canonical corporate actions, derived adjustment factors and the adjusted-price view.
CREATE TABLE stocks_research.corporate_actions (
    action_id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    security_id       bigint  NOT NULL REFERENCES stocks_research.securities (security_id),
    action_type       text    NOT NULL CHECK (action_type IN ('split', 'reverse_split',
                              'stock_dividend', 'cash_dividend', 'special_dividend')),
    ex_date           date    NOT NULL,
    split_from        double precision,
    split_to          double precision,
    cash_amount       double precision,
    currency          text    CHECK (currency IS NULL OR currency ~ '^[A-Z]{3}$'),
    declared_date     date,
    record_date       date,
    pay_date          date,
    source            text    NOT NULL,
    source_event_id   text,
    run_id            bigint  REFERENCES ingestion.job_runs (run_id) ON DELETE SET NULL,
    ingested_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (security_id, action_type, ex_date),
    CONSTRAINT corporate_actions_split_shape CHECK (
        action_type IN ('cash_dividend', 'special_dividend')
        OR (split_from IS NOT NULL AND split_to IS NOT NULL AND cash_amount IS NULL)),
    CONSTRAINT corporate_actions_dividend_shape CHECK (
        action_type NOT IN ('cash_dividend', 'special_dividend')
        OR (cash_amount IS NOT NULL AND split_from IS NULL AND split_to IS NULL))
);
CREATE INDEX corporate_actions_ex_date_idx ON stocks_research.corporate_actions (ex_date);

-- Cumulative backward factors: raw price x price_factor = adjusted price (SPEC section 6).
-- Bulk-written like prices_daily, so likewise without FK constraints (see 0003); the
-- `no_orphans` gate check covers it.
CREATE TABLE stocks_research.adjustment_factors_daily (
    security_id      bigint  NOT NULL,
    trade_date       date    NOT NULL,
    method           text    NOT NULL CHECK (method IN ('crsp', 'exdate_close')),
    price_factor     double precision NOT NULL CHECK (price_factor > 0),
    volume_factor    double precision NOT NULL CHECK (volume_factor > 0),
    split_factor     double precision NOT NULL CHECK (split_factor > 0),
    dividend_factor  double precision NOT NULL CHECK (dividend_factor > 0),
    run_id           bigint,
    PRIMARY KEY (security_id, trade_date, method)
);

CREATE VIEW stocks_research.prices_daily_adjusted_v AS
SELECT p.security_id, p.trade_date, f.method,
       p.open  * f.price_factor AS open,
       p.high  * f.price_factor AS high,
       p.low   * f.price_factor AS low,
       p.close * f.price_factor AS close,
       p.volume * f.volume_factor AS volume,
       f.price_factor, f.volume_factor,
       p.open AS raw_open, p.high AS raw_high, p.low AS raw_low, p.close AS raw_close,
       p.volume AS raw_volume
  FROM stocks_research.prices_daily p
  JOIN stocks_research.adjustment_factors_daily f USING (security_id, trade_date);
