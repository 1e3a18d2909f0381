//! CPU time and peak memory from /proc (Linux), for the driver itself and for the server.

use std::time::Instant;

/// Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU ticks (user + system) of a process, from /proc/<pid>/stat.
fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields after its closing parenthesis do not.
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 (utime) and 15 (stime) of proc(5); `rest` starts at field 3.
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    Some(user + system)
}

/// CPU ticks of the PostgreSQL backends serving database `db` (their process title names it;
/// other users' databases on the same server are not counted).
fn postgres_backend_ticks(db: &str) -> Option<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name
            .to_str()
            .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim_end() != "postgres" {
            continue;
        }
        // Title: `postgres: [<cluster>: ]<user> <database> <client> <state>`.
        let title = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let title = String::from_utf8_lossy(&title);
        if title.split([' ', '\0']).any(|word| word == db) {
            total += cpu_ticks(pid).unwrap_or(0);
        }
    }
    Some(total)
}

/// Busy ticks of the whole machine (all CPUs), from the first line of /proc/stat.
fn machine_busy_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .map(|v| v.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal [guest guest_nice, already in user/nice]
    let total: u64 = ticks.iter().take(8).sum();
    let idle = ticks.get(3)? + ticks.get(4)?;
    Some(total - idle)
}

/// One reading.
pub struct Sample {
    at: Instant,
    server: Option<u64>,
    client: Option<u64>,
    database: Option<u64>,
    fake: Option<u64>,
    machine: Option<u64>,
}

/// CPU used between two readings, in cores (1.0 = one core busy all the time).
pub struct Usage {
    /// The server's.
    pub server_cores: Option<f64>,
    /// This driver's.
    pub client_cores: Option<f64>,
    /// The PostgreSQL backends of the benchmark's database (none on SQLite, which runs inside
    /// wangju).
    pub database_cores: Option<f64>,
    /// The fake WeChat's (run in live mode against it).
    pub fake_cores: Option<f64>,
    /// Everything else on the machine: other users' work, the kernel's own threads.
    pub other_cores: Option<f64>,
}

impl Usage {
    /// Usage from `before` to `after`.
    pub fn between(before: &Sample, after: &Sample) -> Self {
        let seconds = after.at.duration_since(before.at).as_secs_f64();
        let cores = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (Some(a), Some(b)) if seconds > 0.0 => {
                Some(b.saturating_sub(a) as f64 / TICKS_PER_SECOND / seconds)
            }
            _ => None,
        };
        let server_cores = cores(before.server, after.server);
        let client_cores = cores(before.client, after.client);
        let database_cores = cores(before.database, after.database);
        let fake_cores = cores(before.fake, after.fake);
        let other_cores = cores(before.machine, after.machine).map(|machine| {
            (machine
                - server_cores.unwrap_or(0.0)
                - client_cores.unwrap_or(0.0)
                - database_cores.unwrap_or(0.0)
                - fake_cores.unwrap_or(0.0))
            .max(0.0)
        });
        Self {
            server_cores,
            client_cores,
            database_cores,
            fake_cores,
            other_cores,
        }
    }
}

/// Reads the driver's and (if known) the server's CPU time.
pub struct Sampler {
    server_pid: Option<String>,
    postgres_db: Option<String>,
    fake_pid: Option<String>,
}

impl Sampler {
    /// A sampler for the server with this pid (or none), its PostgreSQL database (or none) and
    /// the fake WeChat with this pid (or none).
    pub fn new(
        server_pid: Option<u32>,
        postgres_db: Option<String>,
        fake_pid: Option<u32>,
    ) -> Self {
        Self {
            server_pid: server_pid.map(|p| p.to_string()),
            postgres_db,
            fake_pid: fake_pid.map(|p| p.to_string()),
        }
    }

    /// Reads both processes now.
    pub fn sample(&self) -> Sample {
        Sample {
            at: Instant::now(),
            server: self.server_pid.as_deref().and_then(cpu_ticks),
            client: cpu_ticks("self"),
            database: self.postgres_db.as_deref().and_then(postgres_backend_ticks),
            fake: self.fake_pid.as_deref().and_then(cpu_ticks),
            machine: machine_busy_ticks(),
        }
    }

    /// The server's peak resident set so far (VmHWM), in KiB.
    pub fn server_hwm_kib(&self) -> Option<u64> {
        let pid = self.server_pid.as_deref()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }
}
