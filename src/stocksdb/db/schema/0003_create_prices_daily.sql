-- Raw daily OHLCV, one row per security and session, written only by the prices_daily job.
-- No FOREIGN KEY constraints here on purpose: a per-row FK check halves bulk COPY throughput
-- (measured 101k -> 50k rows/s, and 34k with run_id too). The loader only writes ids it
-- resolved through ticker_history (which has the FK), securities are never deleted, and the
-- `no_orphans` gate check verifies every security_id after each run.
CREATE TABLE stocks_research.prices_daily (
    security_id   bigint  NOT NULL,
    trade_date    date    NOT NULL,
    open          double precision NOT NULL,
    high          double precision NOT NULL,
    low           double precision NOT NULL,
    close         double precision NOT NULL,
    volume        bigint  NOT NULL,
    transactions  bigint,
    source        text    NOT NULL,
    run_id        bigint,
    ingested_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (security_id, trade_date),
    CONSTRAINT prices_daily_positive CHECK (open > 0 AND high > 0 AND low > 0 AND close > 0),
    CONSTRAINT prices_daily_high_bounds CHECK (high >= low AND high >= open AND high >= close),
    CONSTRAINT prices_daily_low_bounds CHECK (low <= open AND low <= close),
    CONSTRAINT prices_daily_volume CHECK (volume >= 0 AND (transactions IS NULL OR transactions >= 0))
);
-- A date's cross-section: rows of one date are written together, so this index reads few pages.
CREATE INDEX prices_daily_trade_date_idx ON stocks_research.prices_daily (trade_date);

-- The shape the seed-004 consumers expect, as a view over the one canonical table.
CREATE VIEW stocks_research.ohlcv_daily AS
SELECT p.security_id AS symbol_id,
       p.trade_date  AS time,
       th.ticker     AS symbol,
       p.open, p.high, p.low, p.close, p.volume, p.transactions, p.source
  FROM stocks_research.prices_daily p
  LEFT JOIN stocks_research.ticker_history th
    ON th.security_id = p.security_id
   AND th.valid_from <= p.trade_date
   AND (th.valid_to IS NULL OR p.trade_date < th.valid_to);
