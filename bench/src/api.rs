//! The mini-program API scenarios (4 login, 5 vote, 6 hot listing): what their requests look
//! like and what a correct JSON answer holds (see `/work/shared/docs/api-contract.md`).

use bytes::Bytes;
use hyper::{
    Method,
    header::{self, HeaderName, HeaderValue},
};
use serde::Deserialize;

use crate::scenario::{Expect, Prepared};

/// `POST` a `wx.login` code here.
pub const LOGIN_PATH: &str = "/api/v1/auth/login";
/// Works per listing page (the mini program's page size).
pub const PAGE_SIZE: usize = 20;

/// A request with a JSON body (or none) and extra headers.
fn json_request(
    method: Method,
    path: String,
    body: Option<String>,
    headers: Vec<(HeaderName, HeaderValue)>,
    expect: Expect,
) -> Prepared {
    Prepared {
        method,
        path,
        content_type: body.as_ref().map(|_| "application/json"),
        headers,
        body: body.map(Bytes::from).unwrap_or_default(),
        expect,
    }
}

/// The login code of request `i` of run `run`: new codes are new people at the fake WeChat.
pub fn login_code(run: u64, i: usize) -> String {
    format!("bench{run}-{i}")
}

/// `count` logins with distinct codes: a burst of first-time users.
pub fn login_requests(run: u64, count: usize) -> Vec<Prepared> {
    (0..count)
        .map(|i| {
            json_request(
                Method::POST,
                LOGIN_PATH.to_owned(),
                Some(format!(r#"{{"code":"{}"}}"#, login_code(run, i))),
                Vec::new(),
                Expect::Login,
            )
        })
        .collect()
}

#[derive(Deserialize)]
struct LoginAnswer {
    token: String,
    user: LoginUser,
}

#[derive(Deserialize)]
struct LoginUser {
    id: i64,
}

/// A correct login answer gives `<person id> <token>` (a line of the tokens file).
pub fn check_login(body: &[u8]) -> Option<String> {
    let answer: LoginAnswer = serde_json::from_slice(body).ok()?;
    let token_ok = !answer.token.is_empty() && !answer.token.contains(char::is_whitespace);
    (token_ok && answer.user.id > 0).then(|| format!("{} {}", answer.user.id, answer.token))
}

/// A logged-in person of the tokens file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Voter {
    /// Person id.
    pub person_id: i64,
    /// Bearer token.
    pub token: String,
}

/// Reads a tokens file: `<person id> <token>` per line.
pub fn parse_tokens(text: &str) -> Result<Vec<Voter>, String> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(n, line)| {
            let mut parts = line.split_whitespace();
            match (parts.next().map(str::parse), parts.next(), parts.next()) {
                (Some(Ok(person_id)), Some(token), None) => Ok(Voter {
                    person_id,
                    token: token.to_owned(),
                }),
                _ => Err(format!("tokens line {}: want `<id> <token>`", n + 1)),
            }
        })
        .collect()
}

/// Reads a works file: one work id per line.
pub fn parse_works(text: &str) -> Result<Vec<i64>, String> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(n, line)| {
            line.trim()
                .parse()
                .map_err(|_| format!("works line {}: not an id", n + 1))
        })
        .collect()
}

/// The address person number `index` votes from: each worker behind the proxy has their own
/// (the server limits votes per address per minute and flags many accounts on one address).
pub fn forwarded_for(index: usize) -> String {
    let n = index % (1 << 24);
    format!("10.{}.{}.{}", n >> 16, (n >> 8) & 0xff, n & 0xff)
}

/// Up to `count` votes, each a distinct (person, work) pair, at most `per_person` per person
/// (and never more than the day's `cap`). Person-major rounds: vote `r` of every person comes
/// before vote `r + 1` of any, so consecutive requests are different people on different works
/// and no person has two votes in flight.
pub fn vote_requests(
    voters: &[Voter],
    works: &[i64],
    per_person: usize,
    cap: u32,
    count: usize,
) -> Result<Vec<Prepared>, String> {
    let per_person = per_person
        .min(usize::try_from(cap).unwrap_or(usize::MAX))
        .min(works.len());
    if voters.is_empty() || per_person == 0 {
        return Err("votes need at least one voter and one approved work".to_owned());
    }
    let total = voters.len().saturating_mul(per_person).min(count);
    let mut out = Vec::with_capacity(total);
    for i in 0..total {
        let (round, person) = (i / voters.len(), i % voters.len());
        let voter = &voters[person];
        // A person's works are `per_person` consecutive entries: distinct while per_person ≤
        // works.len(); neighbours in the order get works `per_person` apart.
        let work_id = works[(person * per_person + round) % works.len()];
        let bearer = HeaderValue::from_str(&format!("Bearer {}", voter.token))
            .map_err(|_| format!("person {}: token is not a header value", voter.person_id))?;
        let from = HeaderValue::from_str(&forwarded_for(person))
            .map_err(|e| format!("forwarded address: {e}"))?;
        out.push(json_request(
            Method::POST,
            format!("/api/v1/works/{work_id}/votes"),
            None,
            vec![
                (header::AUTHORIZATION, bearer),
                (HeaderName::from_static("x-forwarded-for"), from),
                (header::USER_AGENT, HeaderValue::from_static("wangju-bench")),
            ],
            Expect::Vote { work_id, cap },
        ));
    }
    Ok(out)
}

#[derive(Deserialize)]
struct VoteAnswer {
    work_id: i64,
    vote_count: i64,
    votes_left_today: i64,
}

/// A counted vote for `work_id`: its count includes this vote and the person has used one.
pub fn check_vote(body: &[u8], work_id: i64, cap: u32) -> bool {
    serde_json::from_slice::<VoteAnswer>(body).is_ok_and(|a| {
        a.work_id == work_id
            && a.vote_count >= 1
            && (0..i64::from(cap)).contains(&a.votes_left_today)
    })
}

/// The hot listing's path: a category, a cursor, a page size.
pub fn listing_path(category: Option<&str>, cursor: Option<&str>, limit: usize) -> String {
    let mut path = format!("/api/v1/works?sort=hot&limit={limit}");
    for (name, value) in [("category", category), ("cursor", cursor)] {
        if let Some(value) = value {
            path.push('&');
            path.push_str(name);
            path.push('=');
            path.extend(url::form_urlencoded::byte_serialize(value.as_bytes()));
        }
    }
    path
}

#[derive(Deserialize)]
struct PageAnswer {
    items: Vec<PageItem>,
    next_cursor: Option<String>,
}

#[derive(Deserialize)]
struct PageItem {
    status: String,
    category: String,
}

/// What a listing page held, as read while preparing the scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageSeen {
    /// How many works.
    pub items: usize,
    /// The first work's category.
    pub first_category: Option<String>,
    /// The cursor of the next page.
    pub next_cursor: Option<String>,
}

/// Reads a listing page.
pub fn read_page(body: &[u8]) -> Result<PageSeen, String> {
    let page: PageAnswer =
        serde_json::from_slice(body).map_err(|e| format!("listing answer: {e}"))?;
    Ok(PageSeen {
        items: page.items.len(),
        first_category: page.items.first().map(|i| i.category.clone()),
        next_cursor: page.next_cursor,
    })
}

/// A GET of each listed page, expecting the number of works it held when prepared.
pub fn listing_requests(pages: &[(String, usize, Option<String>)]) -> Vec<Prepared> {
    pages
        .iter()
        .map(|(path, items, category)| {
            json_request(
                Method::GET,
                path.clone(),
                None,
                Vec::new(),
                Expect::Listing {
                    items: *items,
                    category: category.clone(),
                },
            )
        })
        .collect()
}

/// A non-empty page of exactly `items` approved works, all in `category` if one is asked for.
pub fn check_listing(body: &[u8], items: usize, category: Option<&str>) -> bool {
    serde_json::from_slice::<PageAnswer>(body).is_ok_and(|page| {
        !page.items.is_empty()
            && page.items.len() == items
            && page
                .items
                .iter()
                .all(|w| w.status == "approved" && category.is_none_or(|c| w.category == c))
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn header<'a>(request: &'a Prepared, name: &str) -> &'a str {
        request
            .headers
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .and_then(|(_, v)| v.to_str().ok())
            .unwrap()
    }

    #[test]
    fn logins_carry_distinct_codes_and_a_correct_answer_yields_id_and_token() {
        let requests = login_requests(77, 3);
        let bodies: HashSet<_> = requests.iter().map(|r| r.body.clone()).collect();
        assert_eq!(bodies.len(), 3);
        assert_eq!(requests[1].body, Bytes::from(r#"{"code":"bench77-1"}"#));
        assert_eq!(requests[1].content_type, Some("application/json"));
        assert_eq!(requests[1].path, LOGIN_PATH);

        let answer = br#"{"token":"wjs_abc","expires_in":2592000,"user":{"id":42,"nickname":"","unit_id":null}}"#;
        assert_eq!(check_login(answer).as_deref(), Some("42 wjs_abc"));
        assert_eq!(check_login(br#"{"token":"","user":{"id":42}}"#), None);
        assert_eq!(
            check_login(br#"{"error":{"code":"bad_request","message":"x"}}"#),
            None
        );
        let voters = parse_tokens("42 wjs_abc\n\n43 wjs_def\n").unwrap();
        assert_eq!(voters[1].person_id, 43);
        assert!(parse_tokens("42\n").is_err());
        assert_eq!(parse_works("7\n9\n").unwrap(), [7, 9]);
    }

    #[test]
    fn votes_are_distinct_pairs_capped_per_person_with_one_address_each() {
        let voters: Vec<Voter> = (0..5)
            .map(|i| Voter {
                person_id: 100 + i,
                token: format!("t{i}"),
            })
            .collect();
        let works: Vec<i64> = (1..=4).collect();
        let requests = vote_requests(&voters, &works, 10, 10, 1_000).unwrap();
        // Four works: at most four votes each.
        assert_eq!(requests.len(), 20);
        let mut pairs = HashSet::new();
        let mut per_person: std::collections::HashMap<&str, usize> = Default::default();
        for request in &requests {
            let token = header(request, "authorization");
            assert!(pairs.insert((token.to_owned(), request.path.clone())));
            *per_person.entry(token).or_default() += 1;
            let n: usize = token.trim_start_matches("Bearer t").parse().unwrap();
            assert_eq!(header(request, "x-forwarded-for"), forwarded_for(n));
        }
        assert!(per_person.values().all(|&n| n == 4));
        // Consecutive requests: different people.
        assert_ne!(
            header(&requests[0], "authorization"),
            header(&requests[1], "authorization")
        );
        let addresses: HashSet<_> = (0..70_000).map(forwarded_for).collect();
        assert_eq!(addresses.len(), 70_000);
        assert_eq!(vote_requests(&voters, &works, 2, 10, 3).unwrap().len(), 3);
        assert!(vote_requests(&[], &works, 2, 10, 3).is_err());

        let Expect::Vote { work_id, cap } = requests[0].expect else {
            panic!("not a vote");
        };
        assert_eq!(requests[0].path, format!("/api/v1/works/{work_id}/votes"));
        let ok = format!(r#"{{"work_id":{work_id},"vote_count":3,"votes_left_today":9}}"#);
        assert!(check_vote(ok.as_bytes(), work_id, cap));
        let other = format!(
            r#"{{"work_id":{},"vote_count":3,"votes_left_today":9}}"#,
            work_id + 1
        );
        assert!(!check_vote(other.as_bytes(), work_id, cap));
        let none_used = format!(r#"{{"work_id":{work_id},"vote_count":3,"votes_left_today":10}}"#);
        assert!(!check_vote(none_used.as_bytes(), work_id, cap));
    }

    #[test]
    fn listing_pages_are_checked_for_size_status_and_category() {
        assert_eq!(
            listing_path(Some("slogan"), Some("aDoxOjI="), 20),
            "/api/v1/works?sort=hot&limit=20&category=slogan&cursor=aDoxOjI%3D"
        );
        assert_eq!(
            listing_path(None, None, 20),
            "/api/v1/works?sort=hot&limit=20"
        );
        let page = br#"{"items":[{"id":2,"category":"slogan","status":"approved","vote_count":1},
            {"id":1,"category":"slogan","status":"approved","vote_count":0}],"next_cursor":"x"}"#;
        let seen = read_page(page).unwrap();
        assert_eq!(seen.items, 2);
        assert_eq!(seen.first_category.as_deref(), Some("slogan"));
        assert_eq!(seen.next_cursor.as_deref(), Some("x"));
        assert!(check_listing(page, 2, Some("slogan")));
        assert!(check_listing(page, 2, None));
        assert!(!check_listing(page, 20, None));
        assert!(!check_listing(page, 2, Some("essay")));
        assert!(!check_listing(
            br#"{"items":[],"next_cursor":null}"#,
            0,
            None
        ));
        let requests = listing_requests(&[("/p".to_owned(), 2, None)]);
        assert_eq!(requests[0].method, Method::GET);
        assert!(requests[0].body.is_empty());
    }
}
