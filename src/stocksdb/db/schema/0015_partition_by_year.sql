-- prices_daily and adjustment_factors_daily partitioned by trade_date, one partition per calendar
-- year (issue 16). A year with no stored bars is hydrated into a fresh unindexed table, indexed
-- once and attached (jobs/prices_hydrate.py); other years are written through the parent, one
-- date per transaction, as before. Columns, keys, CHECKs and views are unchanged; the primary
-- keys include trade_date (a partitioned key must) and security_id (the column Citus would
-- distribute by). Partitions are named <table>_y<year>; ensure_year_partitions creates the
-- missing ones of a date range (a row outside every partition is an error, never silently kept
-- aside: there is no DEFAULT partition).

CREATE FUNCTION stocks_research.ensure_year_partitions(p_table text, p_from date, p_to date)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    y    integer;
    made integer := 0;
    part text;
BEGIN
    IF p_table NOT IN ('prices_daily', 'adjustment_factors_daily') THEN
        RAISE EXCEPTION 'ensure_year_partitions: % is not a table partitioned by year', p_table;
    END IF;
    FOR y IN extract(year FROM p_from)::integer .. extract(year FROM p_to)::integer LOOP
        part := p_table || '_y' || y;
        IF to_regclass(format('stocks_research.%I', part)) IS NULL THEN
            EXECUTE format('CREATE TABLE stocks_research.%I PARTITION OF stocks_research.%I '
                           'FOR VALUES FROM (%L) TO (%L)', part, p_table, make_date(y, 1, 1),
                           make_date(y + 1, 1, 1));
            made := made + 1;
        END IF;
    END LOOP;
    RETURN made;
END $$;

COMMENT ON FUNCTION stocks_research.ensure_year_partitions(text, date, date) IS
    'Create the missing yearly partitions <table>_y<year> of prices_daily or '
    'adjustment_factors_daily covering p_from .. p_to; returns how many it created';

DROP VIEW stocks_research.ohlcv_daily;
DROP VIEW stocks_research.prices_daily_adjusted_v;
DROP VIEW stocks_research.dividend_context_v;

ALTER TABLE stocks_research.prices_daily RENAME TO prices_daily_0015;
ALTER INDEX stocks_research.prices_daily_pkey RENAME TO prices_daily_0015_pkey;
ALTER INDEX stocks_research.prices_daily_trade_date_idx RENAME TO prices_daily_0015_trade_date_idx;
ALTER TABLE stocks_research.adjustment_factors_daily RENAME TO adjustment_factors_daily_0015;
ALTER INDEX stocks_research.adjustment_factors_daily_pkey
    RENAME TO adjustment_factors_daily_0015_pkey;

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
    CONSTRAINT prices_daily_volume CHECK (volume >= 0 AND (transactions IS NULL OR transactions >= 0)),
    CONSTRAINT prices_daily_finite CHECK (
        open < 'Infinity'::float8 AND high < 'Infinity'::float8
        AND low < 'Infinity'::float8 AND close < 'Infinity'::float8)
) PARTITION BY RANGE (trade_date);
CREATE INDEX prices_daily_trade_date_idx ON stocks_research.prices_daily (trade_date);

CREATE TABLE stocks_research.adjustment_factors_daily (
    security_id      bigint  NOT NULL,
    trade_date       date    NOT NULL,
    method           text    NOT NULL CHECK (method IN ('crsp', 'exdate_close')),
    price_factor     double precision NOT NULL CHECK (price_factor > 0),
    volume_factor    double precision NOT NULL CHECK (volume_factor > 0),
    split_factor     double precision NOT NULL CHECK (split_factor > 0),
    dividend_factor  double precision NOT NULL CHECK (dividend_factor > 0),
    run_id           bigint,
    PRIMARY KEY (security_id, trade_date, method),
    CONSTRAINT adjustment_factors_daily_finite CHECK (
        price_factor < 'Infinity'::float8 AND volume_factor < 'Infinity'::float8
        AND split_factor < 'Infinity'::float8 AND dividend_factor < 'Infinity'::float8)
) PARTITION BY RANGE (trade_date);

SELECT stocks_research.ensure_year_partitions('prices_daily', min(trade_date), max(trade_date))
  FROM stocks_research.prices_daily_0015 HAVING count(*) > 0;
INSERT INTO stocks_research.prices_daily (security_id, trade_date, open, high, low, close, volume,
                                          transactions, source, run_id, ingested_at)
SELECT security_id, trade_date, open, high, low, close, volume, transactions, source, run_id,
       ingested_at
  FROM stocks_research.prices_daily_0015;
DROP TABLE stocks_research.prices_daily_0015;

SELECT stocks_research.ensure_year_partitions('adjustment_factors_daily', min(trade_date),
                                              max(trade_date))
  FROM stocks_research.adjustment_factors_daily_0015 HAVING count(*) > 0;
INSERT INTO stocks_research.adjustment_factors_daily (security_id, trade_date, method,
    price_factor, volume_factor, split_factor, dividend_factor, run_id)
SELECT security_id, trade_date, method, price_factor, volume_factor, split_factor,
       dividend_factor, run_id
  FROM stocks_research.adjustment_factors_daily_0015;
DROP TABLE stocks_research.adjustment_factors_daily_0015;

-- The views of 0003, 0004 and 0007, unchanged, over the partitioned tables.
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

CREATE VIEW stocks_research.dividend_context_v AS
SELECT c.action_id, c.security_id, c.ex_date, c.action_type, c.cash_amount,
       prev.trade_date AS prev_date, prev.close AS prev_close, ex.close AS ex_close,
       coalesce((SELECT stocks_research.product(s.split_from / s.split_to ORDER BY s.action_id)
                   FROM stocks_research.corporate_actions s
                  WHERE s.security_id = c.security_id AND s.ex_date = c.ex_date
                    AND s.action_type IN ('split', 'reverse_split', 'stock_dividend')), 1)
           AS same_day_split_factor
  FROM stocks_research.corporate_actions c
  LEFT JOIN LATERAL (SELECT p.trade_date, p.close FROM stocks_research.prices_daily p
                      WHERE p.security_id = c.security_id AND p.trade_date < c.ex_date
                      ORDER BY p.trade_date DESC LIMIT 1) prev ON true
  LEFT JOIN stocks_research.prices_daily ex
         ON ex.security_id = c.security_id AND ex.trade_date = c.ex_date
 WHERE c.action_type IN ('cash_dividend', 'special_dividend');
