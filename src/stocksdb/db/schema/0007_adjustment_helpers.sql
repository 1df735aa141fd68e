-- Helpers for corporate actions and adjustment factors.

-- A product aggregate (core PostgreSQL has none): exact float multiplication in the order given,
-- so factors are deterministic, unlike exp(sum(ln(x))).
CREATE AGGREGATE stocks_research.product(double precision) (
    SFUNC = float8mul, STYPE = double precision, INITCOND = '1'
);

CREATE INDEX corporate_actions_security_idx
    ON stocks_research.corporate_actions (security_id, ex_date);

-- Per cash or special dividend: the previous raw close (the security's last bar before the
-- ex-date), the raw close on the ex-date, and the product of split factors sharing the ex-date
-- (a same-day dividend is per post-split share, SPEC section 6).
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
