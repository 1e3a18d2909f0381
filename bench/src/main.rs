//! `wangju-bench`: replays pre-built requests (correctly signed WeChat pushes, mini-program API
//! calls, or `/healthz`) against a running wangju over N keep-alive connections for a fixed
//! time, checks every answer, and prints req/s, p50/p99 latency, errors and CPU use. It also does
//! the untimed set-up of the vote and listing scenarios (`--scenario setup-works`).
//! `bench/run.sh` drives it; see BENCHMARKS.md.

mod api;
mod load;
mod procfs;
mod scenario;
mod setup;

use std::{
    net::SocketAddr,
    path::PathBuf,
    process::ExitCode,
    sync::Arc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use clap::Parser;
use wangju::{
    campaign::{Campaign, replies::Replies},
    wechat::crypto::{EncodingAesKey, MessageCrypt},
};

use crate::scenario::{Checker, Keys, Scenario};

/// Longest allowed measurement: the machine is shared, keep runs short.
const MAX_DURATION_S: u64 = 20;

/// Load driver for wangju's WeChat callback and mini-program API.
#[derive(Debug, Parser)]
#[command(name = "wangju-bench")]
struct Args {
    /// The server, `127.0.0.1:PORT` (loopback only).
    #[arg(long)]
    addr: SocketAddr,
    /// What to send.
    #[arg(long, value_enum)]
    scenario: Scenario,
    /// Concurrent keep-alive connections, one request in flight on each.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Measured seconds (at most 20).
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Unmeasured seconds before the measurement.
    #[arg(long, default_value_t = 1)]
    warmup: u64,
    /// Driver threads (1: one core for the load generator, like `wrk -t1`).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Distinct requests to pre-build (default: enough for 60,000/s, or 8,000/s for slogans).
    #[arg(long)]
    pool: Option<usize>,
    /// The account's Token (the server's WANGJU_MP_TOKEN).
    #[arg(long, default_value = "sandbox-token")]
    token: String,
    /// The official account's appid (the server's WANGJU_MP_APPID).
    #[arg(long, default_value = "wxsandbox0000mp01")]
    appid: String,
    /// The EncodingAESKey (the server's WANGJU_MP_AES_KEY); needed for keyword-safe.
    #[arg(long)]
    aes_key: Option<String>,
    /// The replies file the server uses (keywords and their replies).
    #[arg(long, default_value = "wechat-config/replies.toml")]
    replies: PathBuf,
    /// The server's pid, to report its CPU use and peak RSS (VmHWM) from /proc.
    #[arg(long)]
    server_pid: Option<u32>,
    /// The PostgreSQL database the server uses, to report its backends' CPU use.
    #[arg(long)]
    postgres_db: Option<String>,
    /// The fake WeChat's pid, to report its CPU use.
    #[arg(long)]
    fake_pid: Option<u32>,
    /// The bootstrap admin token (the server's WANGJU_ADMIN_TOKEN); for setup-works.
    #[arg(long)]
    admin_token: Option<String>,
    /// setup-works: approved works wanted.
    #[arg(long, default_value_t = 10_000)]
    min_works: usize,
    /// setup-works: where to write the approved works' ids (one a line).
    #[arg(long)]
    works_out: Option<PathBuf>,
    /// vote: the approved works' ids (setup-works' --works-out).
    #[arg(long)]
    works_in: Option<PathBuf>,
    /// login: where to write `<person id> <token>` of every login (one a line).
    #[arg(long)]
    tokens_out: Option<PathBuf>,
    /// vote: the voters (login's --tokens-out).
    #[arg(long)]
    tokens_in: Option<PathBuf>,
    /// vote: votes per person (never more than the campaign's daily cap).
    #[arg(long, default_value_t = 10)]
    votes_per_person: usize,
    /// The campaign file the server uses (the daily vote cap).
    #[arg(long, default_value = "wechat-config/campaigns/shwm-2017.toml")]
    campaign: PathBuf,
    /// works-hot: pages read with the cursor in each listing (overall and one category).
    #[arg(long, default_value_t = 3)]
    pages: usize,
}

fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(clean) => {
            if clean {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            }
        }
        Err(err) => {
            eprintln!("wangju-bench: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one scenario; `Ok(false)` when some answer was wrong or failed.
fn run(args: &Args) -> Result<bool, String> {
    if !args.addr.ip().is_loopback() {
        return Err(format!("{} is not a loopback address", args.addr));
    }
    if args.duration == 0 || args.duration > MAX_DURATION_S {
        return Err(format!("--duration must be 1..={MAX_DURATION_S} seconds"));
    }
    if args.connections == 0 || args.threads == 0 {
        return Err("--connections and --threads must be at least 1".to_owned());
    }
    let replies = Replies::load(&args.replies).map_err(|e| e.to_string())?;
    let (keywords, keyword_replies) = scenario::keyword_messages(&replies);
    let crypt = args
        .aes_key
        .as_deref()
        .map(|key| {
            EncodingAesKey::parse(key)
                .map(|key| MessageCrypt::new(args.appid.clone(), key, None))
                .map_err(|e| format!("--aes-key: {e}"))
        })
        .transpose()?;
    let keys = Keys {
        token: args.token.clone(),
        crypt,
    };

    let seconds = usize::try_from(args.duration + args.warmup).unwrap_or(usize::MAX);
    // Distinct requests for the fastest rate seen so far, with room to spare.
    let per_second = match args.scenario {
        Scenario::Slogan | Scenario::Login | Scenario::Vote => 8_000,
        _ => 60_000,
    };
    let pool = args
        .pool
        .unwrap_or(seconds.saturating_mul(per_second))
        .min(scenario::MAX_POOL);
    // MsgIds: this run's millisecond, times a million, plus the index; no two runs overlap.
    let now = unix_now();
    let run_millis = u64::try_from(now.as_millis()).unwrap_or(0);
    let msg_base = i64::try_from(run_millis)
        .unwrap_or(0)
        .saturating_mul(1_000_000);
    let now_s = i64::try_from(now.as_secs()).unwrap_or(0);
    let checker = Checker {
        keyword_replies: Arc::new(keyword_replies),
        keys,
    };
    let runtime = if args.threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()
    }
    .map_err(|e| format!("runtime: {e}"))?;
    if args.scenario == Scenario::SetupWorks {
        return runtime.block_on(setup_works(args, &checker, (msg_base, now_s)));
    }

    let built = Instant::now();
    let requests = match args.scenario {
        Scenario::Login => api::login_requests(run_millis, pool),
        Scenario::Vote => {
            let voters = api::parse_tokens(&read(args.tokens_in.as_ref(), "--tokens-in")?)?;
            let works = api::parse_works(&read(args.works_in.as_ref(), "--works-in")?)?;
            let campaign = Campaign::load(&args.campaign).map_err(|e| e.to_string())?;
            let cap = campaign.voting.votes_per_person_per_day;
            eprintln!(
                "vote: {} voter(s), {} work(s), {} vote(s) each at most (daily cap {cap})",
                voters.len(),
                works.len(),
                args.votes_per_person
            );
            api::vote_requests(&voters, &works, args.votes_per_person, cap, pool)?
        }
        Scenario::WorksHot => {
            let pages = runtime.block_on(setup::listing_pages(args.addr, args.pages))?;
            api::listing_requests(&pages)
        }
        _ => scenario::prepare(
            args.scenario,
            &checker.keys,
            &keywords,
            pool,
            msg_base,
            now_s,
        )?,
    };
    eprintln!(
        "{}: {} request(s) built in {:.2?}",
        args.scenario,
        requests.len(),
        built.elapsed()
    );

    let start = Instant::now();
    let measure_from = start + Duration::from_secs(args.warmup);
    let until = measure_from + Duration::from_secs(args.duration);
    let plan = Arc::new(load::Plan::new(
        args.addr,
        requests,
        // Reads may be repeated; every write must be new.
        matches!(args.scenario, Scenario::Healthz | Scenario::WorksHot),
        checker,
        measure_from,
        until,
    ));
    let sampler = procfs::Sampler::new(args.server_pid, args.postgres_db.clone(), args.fake_pid);
    let (tally, usage) = runtime.block_on(async {
        let run = tokio::spawn(load::run(plan.clone(), args.connections));
        // CPU is sampled at the edges of the measured window.
        tokio::time::sleep_until(measure_from.into()).await;
        let before = sampler.sample();
        tokio::time::sleep_until(until.into()).await;
        let after = sampler.sample();
        let tally = run.await.map_err(|e| format!("driver: {e}"))??;
        Ok::<_, String>((tally, procfs::Usage::between(&before, &after)))
    })?;

    // A pool used up early leaves the rest of the window idle: measure up to the last answer.
    let window_end = match tally.last_done {
        Some(last) if plan.exhausted() => last.min(until),
        _ => until,
    };
    let window = window_end
        .saturating_duration_since(measure_from)
        .as_secs_f64()
        .max(1e-3);
    let rps = tally.answered as f64 / window;
    let ms = |q: f64| tally.latency.value_at_quantile(q) as f64 / 1000.0;
    let hwm = sampler.server_hwm_kib();
    eprintln!(
        "{}: {:.0} req/s over {window:.1} s, {} connections; p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; \
         ok {}, errors {}, non-200 {}, wrong {}, deferred {}{}",
        args.scenario,
        rps,
        args.connections,
        ms(0.5),
        ms(0.99),
        tally.latency.max() as f64 / 1000.0,
        tally.ok,
        tally.errors,
        tally.non_200,
        tally.wrong,
        tally.deferred,
        if plan.exhausted() {
            " (request pool used up early: rate taken up to the last answer; raise --pool)"
        } else {
            ""
        },
    );
    if let Some(problem) = &tally.first_problem {
        eprintln!("{}: first problem: {problem}", args.scenario);
    }
    if let Some(path) = &args.tokens_out {
        let mut text = tally.captured.join("\n");
        text.push('\n');
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!(
            "{}: {} token(s) written to {}",
            args.scenario,
            tally.captured.len(),
            path.display()
        );
    }
    // One machine-readable line for run.sh.
    println!(
        "RESULT scenario={} rps={rps:.0} p50_ms={:.2} p99_ms={:.2} max_ms={:.2} answered={} ok={} \
         errors={} non200={} wrong={} deferred={} ok_total={} deferred_total={} bad_total={} \
         exhausted={} server_cpu={} client_cpu={} db_cpu={} fake_cpu={} other_cpu={} \
         server_hwm_kib={}",
        args.scenario,
        ms(0.5),
        ms(0.99),
        tally.latency.max() as f64 / 1000.0,
        tally.answered,
        tally.ok,
        tally.errors,
        tally.non_200,
        tally.wrong,
        tally.deferred,
        tally.ok_total,
        tally.deferred_total,
        tally.bad_total,
        plan.exhausted(),
        usage
            .server_cores
            .map_or_else(|| "-".to_owned(), |c| format!("{c:.2}")),
        usage
            .client_cores
            .map_or_else(|| "-".to_owned(), |c| format!("{c:.2}")),
        usage
            .database_cores
            .map_or_else(|| "-".to_owned(), |c| format!("{c:.2}")),
        usage
            .fake_cores
            .map_or_else(|| "-".to_owned(), |c| format!("{c:.2}")),
        usage
            .other_cores
            .map_or_else(|| "-".to_owned(), |c| format!("{c:.2}")),
        hwm.map_or_else(|| "-".to_owned(), |k| k.to_string()),
    );
    Ok(tally.bad_total == 0)
}

/// The text of a file named by a required option.
fn read(path: Option<&PathBuf>, option: &str) -> Result<String, String> {
    let path = path.ok_or_else(|| format!("this scenario needs {option}"))?;
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// `--scenario setup-works`: approves works (not measured) and prints one `SETUP` line.
async fn setup_works(args: &Args, checker: &Checker, base: (i64, i64)) -> Result<bool, String> {
    let token = args
        .admin_token
        .as_deref()
        .ok_or("setup-works needs --admin-token")?;
    let started = Instant::now();
    let report = setup::approve_works(
        args.addr,
        token,
        args.min_works,
        args.connections,
        checker,
        base,
    )
    .await?;
    if let Some(path) = &args.works_out {
        let mut text: String = report.approved.iter().map(|id| format!("{id}\n")).collect();
        if text.is_empty() {
            text.push('\n');
        }
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    eprintln!(
        "setup-works: {} work(s) approved, {} slogan(s) submitted in {:.1?}",
        report.approved.len(),
        report.submitted_ok + report.submitted_deferred + report.submitted_bad,
        started.elapsed()
    );
    println!(
        "SETUP approved={} submitted_ok={} submitted_deferred={} submitted_bad={} seconds={:.1}",
        report.approved.len(),
        report.submitted_ok,
        report.submitted_deferred,
        report.submitted_bad,
        started.elapsed().as_secs_f64()
    );
    Ok(report.submitted_bad == 0)
}
