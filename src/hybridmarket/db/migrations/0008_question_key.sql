-- Two markets should not ask the same question. A proposal is compared with the questions of
-- existing markets by this key: the question with its runs of whitespace as one space, trimmed,
-- in lower case (`db.queries.markets.QUESTION_KEY`, which must stay the same expression for the
-- index to serve the lookup). Not unique: metadata is stored before its market is proposed,
-- and an abandoned proposal must not take its question from everyone else; nor may a database
-- that already holds two such questions fail to migrate.
CREATE INDEX market_metadata_question_key_idx
  ON market_metadata (lower(btrim(regexp_replace(question, '\s+', ' ', 'g'))));
