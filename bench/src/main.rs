//! `wangju-bench`: replays pre-built, correctly signed WeChat pushes (or `/healthz`) against a
//! running wangju over N keep-alive connections for a fixed time, checks every answer, and
//! prints req/s, p50/p99 latency, errors and CPU use. `bench/run.sh` drives it; see BENCHMARKS.md.

mod load;
mod procfs;
mod scenario;

use std::{
    net::SocketAddr,
    path::PathBuf,
    process::ExitCode,
    sync::Arc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use clap::Parser;
use wangju::{
    campaign::replies::Replies,
    wechat::crypto::{EncodingAesKey, MessageCrypt},
};

use crate::scenario::{Checker, Keys, Scenario};

/// Longest allowed measurement: the machine is shared, keep runs short.
const MAX_DURATION_S: u64 = 20;

/// Load driver for wangju's WeChat callback.
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
    let per_second = if args.scenario == Scenario::Slogan {
        8_000
    } else {
        60_000
    };
    let pool = args
        .pool
        .unwrap_or(seconds.saturating_mul(per_second))
        .min(scenario::MAX_POOL);
    // MsgIds: this run's millisecond, times a million, plus the index; no two runs overlap.
    let now = unix_now();
    let msg_base = i64::try_from(now.as_millis())
        .unwrap_or(0)
        .saturating_mul(1_000_000);
    let now_s = i64::try_from(now.as_secs()).unwrap_or(0);
    let built = Instant::now();
    let requests = scenario::prepare(args.scenario, &keys, &keywords, pool, msg_base, now_s)?;
    eprintln!(
        "{}: {} request(s) built in {:.2?}",
        args.scenario,
        requests.len(),
        built.elapsed()
    );

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

    let start = Instant::now();
    let measure_from = start + Duration::from_secs(args.warmup);
    let until = measure_from + Duration::from_secs(args.duration);
    let plan = Arc::new(load::Plan::new(
        args.addr,
        requests,
        args.scenario == Scenario::Healthz,
        checker,
        measure_from,
        until,
    ));
    let sampler = procfs::Sampler::new(args.server_pid, args.postgres_db.clone());
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
    // One machine-readable line for run.sh.
    println!(
        "RESULT scenario={} rps={rps:.0} p50_ms={:.2} p99_ms={:.2} max_ms={:.2} answered={} ok={} \
         errors={} non200={} wrong={} deferred={} ok_total={} deferred_total={} bad_total={} \
         exhausted={} server_cpu={} client_cpu={} db_cpu={} other_cpu={} server_hwm_kib={}",
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
            .other_cores
            .map_or_else(|| "-".to_owned(), |c| format!("{c:.2}")),
        hwm.map_or_else(|| "-".to_owned(), |k| k.to_string()),
    );
    Ok(tally.bad_total == 0)
}
