-- The profile's and the portfolio's reads (issue 16).
--
-- A profile's lists, newest first, in index order: the markets a wallet proposed and its
-- comments were found by wallet and then sorted; now the index gives them in the order of the
-- page, which stops at its limit. The equality on the wallet (its counts, its settled markets)
-- reads the same prefix.
DROP INDEX markets_creator_idx;
CREATE INDEX markets_creator_newest_idx ON markets (creator_wallet, created_at DESC, id);
DROP INDEX discussions_user_idx;
CREATE INDEX discussions_user_newest_idx ON discussions (user_wallet, created_at DESC, id)
  WHERE deleted_at IS NULL;

-- The LMSR prices of a market, floor(p * 10^9) of YES and of NO, computed as the program's
-- reference model computes them (hybridmarket.program.lmsr.price: the same integer fixed point,
-- 128 fractional bits, range reduction by ln 2 and a 30-term Horner series, the same floors),
-- so equal to the lamport: the portfolio, built by the database, values the positions of a
-- market settled without an outcome (INVALID, CANCELLED) at these prices, as a claim pays.
-- Outside the program's bounds (shares above 10^18, b outside [1000, 10^15]) it raises, as
-- the model does. It reads no table (so needs no pinned search_path).
CREATE FUNCTION lmsr_prices(q_yes NUMERIC, q_no NUMERIC, b NUMERIC,
                            OUT price_yes NUMERIC, OUT price_no NUMERIC)
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  one CONSTANT NUMERIC := 340282366920938463463374607431768211456;  -- 2^128
  ln2 CONSTANT NUMERIC := 235865763225513294137944142764154484399;  -- round(ln 2 * 2^128)
  unit CONSTANT NUMERIC := 1000000000;  -- a price of 1
  d NUMERIC := abs(q_yes - q_no);
  x NUMERIC;
  k NUMERIC;
  r NUMERIC;
  acc NUMERIC := one;
  y NUMERIC := one;  -- e^(-d/b) in units of 2^-128
  den NUMERIC;
  low NUMERIC;
  high NUMERIC;
BEGIN
  IF q_yes < 0 OR q_yes > 1000000000000000000 OR q_no < 0 OR q_no > 1000000000000000000
     OR b < 1000 OR b > 1000000000000000 THEN
    RAISE EXCEPTION 'lmsr_prices: market out of range (q_yes %, q_no %, b %)', q_yes, q_no, b;
  END IF;
  IF d > 0 THEN
    x := div(d * one, b);
    k := div(x, ln2);
    r := mod(x, ln2);
    IF k > 128 THEN
      y := 0;  -- below half an ulp
    ELSE
      FOR n IN REVERSE 30..1 LOOP
        acc := one - div(acc * r, n * one);
      END LOOP;
      y := div(acc, 2::numeric ^ k);
    END IF;
  END IF;
  den := one + y;
  low := div(unit * one, den);                  -- the leading side's: floor
  high := div(unit * one + den - 1, den);        -- the other's is unit - ceil
  price_yes := CASE WHEN q_yes >= q_no THEN low ELSE unit - high END;
  price_no := CASE WHEN q_no >= q_yes THEN low ELSE unit - high END;
END $$;
