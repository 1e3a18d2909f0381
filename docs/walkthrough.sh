#!/usr/bin/env bash
# A whole campaign in the sandbox, command by command: a worker submits a slogan in chat, a
# reviewer approves it, the public votes, a judge scores, the admin computes the awards, closes
# the campaign and exports the results. Run it against a server started with `cargo run
# --release` (in another terminal): `bash docs/walkthrough.sh`. A test runs these same commands.
set -euo pipefail

BASE=${BASE:-http://127.0.0.1:8080}
WANGJU=${WANGJU:-cargo run -q --release --}
OUT=${OUT:-.}
json() { python3 -c "import sys, json; print(json.load(sys.stdin)$1)"; }
step() { printf '\n== %s\n' "$*"; }

step "Tokens for the organisers (printed once; only their hashes are stored)"
ADMIN=$($WANGJU admin token --role admin --label walkthrough-admin)
REVIEWER=$($WANGJU admin token --role reviewer --label walkthrough-reviewer)
JUDGE=$($WANGJU admin token --role judge --label walkthrough-judge)
admin() { curl -fsS -H "authorization: Bearer $1" -H 'content-type: application/json' "${@:2}"; }

step "Open submissions (the shipped campaign's dates are 2017's: override the phase)"
admin "$ADMIN" -XPUT "$BASE/api/v1/admin/campaign/phase" -d '{"phase":"open"}'

step "Alice follows the account and sends a slogan in chat (the simulator plays WeChat)"
$WANGJU simulate --url "$BASE/wechat/callback" --from alice subscribe
$WANGJU simulate --url "$BASE/wechat/callback" --from alice text "网言网语 文明上网从我做起"

step "The reviewer sees the slogan waiting and approves it"
WORK=$(admin "$REVIEWER" "$BASE/api/v1/admin/works?status=pending_review" | json '["items"][0]["id"]')
admin "$REVIEWER" -XPOST "$BASE/api/v1/admin/works/$WORK/review" -d '{"decision":"approve"}'

step "Showcase: the public votes in the mini program (bob logs in with a wx.login code)"
admin "$ADMIN" -XPUT "$BASE/api/v1/admin/campaign/phase" -d '{"phase":"showcase"}'
BOB=$(curl -fsS -XPOST "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"code":"bob"}' | json '["token"]')
curl -fsS -XPOST "$BASE/api/v1/works/$WORK/votes" -H "authorization: Bearer $BOB"

step "A judge scores the work"
admin "$JUDGE" -XPUT "$BASE/api/v1/admin/works/$WORK/score" -d '{"score":92,"comment":"朴实有力"}'

step "The admin computes the awards and closes the campaign"
admin "$ADMIN" -XPOST "$BASE/api/v1/admin/awards/compute"
admin "$ADMIN" -XPUT "$BASE/api/v1/admin/campaign/phase" -d '{"phase":"closed"}'
curl -fsS "$BASE/api/v1/awards"

step "Exports for the city level (UTF-8 with BOM, opens in Excel)"
admin "$ADMIN" "$BASE/api/v1/admin/export/works.csv" -o "$OUT/works.csv"
admin "$ADMIN" "$BASE/api/v1/admin/export/awards.csv" -o "$OUT/awards.csv"
head -3 "$OUT/works.csv" "$OUT/awards.csv"
