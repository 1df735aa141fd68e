-- The adjustment-factor formula in one place (issue 11): the adjustment_factors_daily job stores
-- what this function returns, and its post-gate recomputes it and compares, bit for bit.
--
-- SPEC section 6. For a security and date t the price factor is the product over its events with
-- ex_date > t of: split_from / split_to for splits (volume factor: the inverse), and for cash
-- dividends D on one ex-date either 'crsp': 1 - sum(D) / (C_prev * s), where C_prev is the
-- previous raw close and s the product of same-day split factors (a same-day dividend is per
-- post-split share), or 'exdate_close': C_ex / (C_ex + sum(D)), C_ex the raw close on the
-- ex-date. Products use the `product` aggregate (exact multiplication in ex-date order), so the
-- same inputs give bit-identical factors. One row per bar of prices_daily (factors 1 where no
-- later event). A method other than 'crsp' takes the exdate_close formula; the table's CHECK
-- admits only the two.
CREATE FUNCTION stocks_research.adjustment_factors(p_method text)
RETURNS TABLE (security_id bigint, trade_date date, method text,
               price_factor double precision, volume_factor double precision,
               split_factor double precision, dividend_factor double precision)
LANGUAGE sql STABLE AS $$
WITH ev AS (
  SELECT c.security_id, c.ex_date,
         coalesce(stocks_research.product(c.split_from / c.split_to ORDER BY c.action_id)
                  FILTER (WHERE c.action_type IN ('split', 'reverse_split', 'stock_dividend')),
                  1) AS s,
         coalesce(sum(c.cash_amount)
                  FILTER (WHERE c.action_type IN ('cash_dividend', 'special_dividend')), 0)
             AS div
    FROM stocks_research.corporate_actions c GROUP BY c.security_id, c.ex_date),
priced AS (
  SELECT ev.*, prev.close AS c_prev, ex.close AS c_ex
    FROM ev
    LEFT JOIN LATERAL (SELECT p.close FROM stocks_research.prices_daily p
                        WHERE p.security_id = ev.security_id AND p.trade_date < ev.ex_date
                        ORDER BY p.trade_date DESC LIMIT 1) prev ON true
    LEFT JOIN stocks_research.prices_daily ex
           ON ex.security_id = ev.security_id AND ex.trade_date = ev.ex_date),
f AS (
  SELECT priced.security_id, priced.ex_date, priced.s,
         CASE WHEN priced.div = 0 THEN 1.0
              WHEN p_method = 'crsp' THEN 1.0 - priced.div / (priced.c_prev * priced.s)
              ELSE priced.c_ex / (priced.c_ex + priced.div) END AS d
    FROM priced),
iv AS (
  SELECT f.security_id, f.ex_date,
         lag(f.ex_date) OVER (PARTITION BY f.security_id ORDER BY f.ex_date) AS prev_ex,
         stocks_research.product(f.s) OVER later AS cs,
         stocks_research.product(f.d) OVER later AS cd
    FROM f
  WINDOW later AS (PARTITION BY f.security_id ORDER BY f.ex_date DESC
                   ROWS UNBOUNDED PRECEDING))
SELECT p.security_id, p.trade_date, p_method,
       coalesce(iv.cs * iv.cd, 1.0::float8), coalesce(1.0 / iv.cs, 1.0::float8),
       coalesce(iv.cs, 1.0::float8), coalesce(iv.cd, 1.0::float8)
  FROM stocks_research.prices_daily p
  LEFT JOIN iv ON iv.security_id = p.security_id AND p.trade_date < iv.ex_date
              AND (iv.prev_ex IS NULL OR p.trade_date >= iv.prev_ex)
$$;

COMMENT ON FUNCTION stocks_research.adjustment_factors(text) IS
    'Cumulative backward price/volume factors of every bar for a method (crsp, exdate_close)';
