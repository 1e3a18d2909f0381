-- The PostgreSQL floor of scenario 5 (votes): one vote as src/service/votes.rs `record` writes
-- it, statement for statement (src/repo/works.rs, src/repo/people.rs, src/repo/votes.rs), in
-- one transaction. bench/run.sh runs it with pgbench after the vote scenario, against the same
-- database, with the same number of clients:
--   pgbench -n -M prepared -c 32 -j 1 -T <s> -f vote.pgbench.sql \
--     -D wmin=.. -D wmax=.. -D pmin=.. -D pmax=.. -D category=.. -D cap=10 <url>
-- Works and voters are drawn at random from ranges of existing rows. The campaign day is a fresh
-- random value per vote, so no vote runs into the daily cap or an existing counted key (the
-- server's votes all share one day; its `used` counter row exists after a person's first vote,
-- here it is always inserted).
\set w random(:wmin, :wmax)
\set p random(:pmin, :pmax)
\set d random(100000000, 999999999)
BEGIN;
-- works::count_vote: count first, taking the work's row lock and reading the work back.
UPDATE works SET vote_count = vote_count + 1 WHERE id = :w AND status = 'approved' RETURNING *;
-- votes::count_evidence, for the signals that are on (the account-age signal is off in
-- the campaign file): the work's votes in the last minute and the other accounts on the address
-- today, in one statement.
SELECT (SELECT count(*) FROM votes WHERE work_id = :w AND created_at >= now() - interval '1 minute')
    AS work_votes,
  (SELECT count(DISTINCT person_id) FROM votes WHERE ip = '10.9.' || CAST(:p AS text)
    AND campaign_id = 1 AND campaign_day = CAST(:d AS text) AND person_id <> :p) AS other_accounts;
-- votes::insert: one counted vote per (work, person, day).
-- Campaign 1: a fresh database's first campaign, adopted by the bench server's only one.
INSERT INTO votes (campaign_id, work_id, person_id, category, campaign_day, ip, user_agent,
  created_at, status, counted_key, void_reason, voided_at, flag_reason)
  VALUES (1, :w, :p, :category, CAST(:d AS text), '10.9.' || CAST(:p AS text), 'wangju-bench', now(),
  'counted', CAST(:w AS text) || '|' || CAST(:p AS text) || '|' || CAST(:d AS text), NULL, NULL, NULL)
  ON CONFLICT (counted_key) DO NOTHING;
-- votes::take_day_slot: the daily cap, one conditional upsert.
INSERT INTO vote_days (campaign_id, person_id, campaign_day, used) VALUES (1, :p, CAST(:d AS text), 1)
  ON CONFLICT (campaign_id, person_id, campaign_day) DO UPDATE SET used = vote_days.used + 1
  WHERE vote_days.used < :cap RETURNING used;
COMMIT;
