#!/usr/bin/env python3
"""The SQLite floor of scenario 5 (votes): the statements of src/service/votes.rs `record`, one
vote per `BEGIN IMMEDIATE … COMMIT` transaction, as fast as one connection can write them, with
the server's pragmas (src/db.rs: WAL, synchronous=NORMAL, foreign keys, 5 s busy timeout).

    sqlite_votes.py <database file> <seconds> <daily cap>

Run by bench/run.sh after the vote scenario, on the run's database with the server stopped.
Votes go to random approved works from random logged-in people; each vote has a fresh campaign
day, so none runs into the daily cap or an existing counted key. Bounded in time and in count.
Prints `FLOOR votes=<n> seconds=<s> rate=<votes/s>`. Python's sqlite3 module keeps the
statements prepared (as sqlx does); SQLite allows one writer, so one connection is the floor.
"""

import datetime
import random
import sqlite3
import sys
import time

MAX_VOTES = 1_000_000
# The bench server's one campaign: a fresh database's campaign 1, adopted by the default campaign.

COUNT = (
    "UPDATE works SET vote_count = vote_count + 1 WHERE id = ? AND status = 'approved'"
    " RETURNING *"
)
EVIDENCE = (
    "SELECT (SELECT count(*) FROM votes WHERE work_id = ? AND created_at >= ?) AS work_votes,"
    " (SELECT count(DISTINCT person_id) FROM votes"
    " WHERE ip = ? AND campaign_id = 1 AND campaign_day = ? AND person_id <> ?) AS other_accounts"
)
INSERT = (
    "INSERT INTO votes (campaign_id, work_id, person_id, category, campaign_day, ip, user_agent,"
    " created_at, status, counted_key, void_reason, voided_at, flag_reason)"
    " VALUES (1, ?, ?, ?, ?, ?, 'wangju-bench', ?, 'counted', ?, NULL, NULL, NULL)"
    " ON CONFLICT (counted_key) DO NOTHING"
)
TAKE_SLOT = (
    "INSERT INTO vote_days (campaign_id, person_id, campaign_day, used) VALUES (1, ?, ?, 1)"
    " ON CONFLICT (campaign_id, person_id, campaign_day) DO UPDATE SET used = vote_days.used + 1"
    " WHERE vote_days.used < ? RETURNING used"
)


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    path, seconds, cap = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    con = sqlite3.connect(path, isolation_level=None, cached_statements=64)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=5000"):
        con.execute(f"PRAGMA {pragma}").fetchall()
    works = con.execute("SELECT id, category FROM works WHERE status = 'approved'").fetchall()
    people = [row[0] for row in con.execute("SELECT id FROM people WHERE miniapp_openid IS NOT NULL")]
    if not works or not people:
        print("sqlite_votes.py: no approved works or no logged-in people", file=sys.stderr)
        return 1
    rng = random.Random(8)
    done = 0
    start = time.perf_counter()
    deadline = start + seconds
    while done < MAX_VOTES and time.perf_counter() < deadline:
        work, category = rng.choice(works)
        person = rng.choice(people)
        day = f"f{done:09d}"
        now = datetime.datetime.now(datetime.timezone.utc)
        since = (now - datetime.timedelta(minutes=1)).isoformat()
        ip = f"10.9.{person >> 8 & 255}.{person & 255}"
        con.execute("BEGIN IMMEDIATE")
        con.execute(COUNT, (work,)).fetchall()
        con.execute(EVIDENCE, (work, since, ip, day, person)).fetchall()
        con.execute(INSERT, (work, person, category, day, ip, now.isoformat(), f"{work}|{person}|{day}"))
        con.execute(TAKE_SLOT, (person, day, cap)).fetchall()
        con.execute("COMMIT")
        done += 1
    elapsed = max(time.perf_counter() - start, 1e-3)
    print(f"FLOOR votes={done} seconds={elapsed:.2f} rate={done / elapsed:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
